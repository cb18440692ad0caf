"""``preflight submit`` end to end: a real S3-compatible server (SeaweedFS) and the local Tavus stand-in,
which fetches the presigned URL and checks the bytes as Tavus would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.cli import main
from tests.support.media_factory import VideoSpec, make_image, make_video
from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, WRITER_KEY, WRITER_SECRET, SeaweedS3
from tests.support.tavus_server import API_KEY, TavusStandIn

KEY = API_KEY


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3: SeaweedS3, tavus: TavusStandIn) -> list[str]:
    for name, value in {"TAVUS_API_KEY": KEY, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                        "AWS_DEFAULT_REGION": "us-east-1", "PREFLIGHT_STATE_DIR": str(tmp_path / "state"),
                        "PREFLIGHT_BUCKET": BUCKET, "PREFLIGHT_S3_ENDPOINT": s3.endpoint}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    return ["--api-url", tavus.url]


def submit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["submit", *args])
    out = capsys.readouterr()
    text = out.out + out.err
    assert KEY not in text and SECRET_KEY not in text and "X-Amz-Signature=" not in text.replace(
        "X-Amz-Signature=REDACTED", "")
    return code, text


def test_video_is_uploaded_and_the_face_created_once(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    code, text = submit(capsys, str(video), "--force", "--name", "Me", "--format", "json", *env)
    assert code == 0, text
    doc = json.loads(text.strip().splitlines()[-1])
    assert doc["status"] == "started" and doc["request"]["face_name"] == "Me"
    assert "X-Amz-Signature=REDACTED" in doc["request"]["train_video_url"]
    assert tavus.state.fetched == [video.read_bytes()]  # Tavus got exactly the file's bytes
    code, text = submit(capsys, str(video), "--force", "--name", "Me", *env)
    assert code == 0 and len(tavus.state.faces) == 1  # --force overrides the check only: no second face
    assert "already submitted" in text and "--resubmit" in text
    code, text = submit(capsys, str(video), "--force", "--resubmit", "--name", "Me", *env)
    assert code == 0 and len(tavus.state.faces) == 2  # --resubmit: a second face on purpose
    code, text = submit(capsys, str(video), "--name", "Me", *env)
    assert code == 1 and len(tavus.state.faces) == 2  # without --force the failing check stops it


def test_a_repeat_without_force_reuses_the_face(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                                capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    from preflight.run import submit as submit_run

    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    monkeypatch.setattr(submit_run, "check_cached", _passing_check)
    assert submit(capsys, str(video), *env)[0] == 0
    code, text = submit(capsys, str(video), *env)
    assert code == 0 and "already submitted" in text and len(tavus.state.faces) == 1


def _passing_check(path: Path, ruleset: object, **options: object) -> object:
    """The synthetic clip has nobody in it: these tests are about the API, so the check passes."""
    from preflight.model.report import FileResult

    return FileResult(str(path), "video", "test", "pass", None, {}, [])


def test_a_failing_file_is_not_uploaded(tmp_path: Path, env: list[str], tavus: TavusStandIn, s3: SeaweedS3,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    video = make_video(tmp_path / "bad.mp4", VideoSpec(seconds=2))
    code, text = submit(capsys, str(video), *env)
    assert code == 1 and "Not uploaded" in text and "video.duration" in text
    assert tavus.state.faces == {}
    listed = s3.client().list_objects_v2(Bucket=BUCKET, Prefix="preflight/").get("Contents", [])
    assert not any(o["Key"].endswith(".mp4") and "bad" in o["Key"] for o in listed)


def test_image_needs_a_valid_voice_before_anything_is_uploaded(tmp_path: Path, env: list[str],
                                                               tavus: TavusStandIn, s3: SeaweedS3,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    image = make_image(tmp_path / "head.jpg")
    code, text = submit(capsys, str(image), "--force", *env)
    assert code == 2 and "needs a stock voice" in text
    code, text = submit(capsys, str(image), "--force", "--voice-name", "annabel", *env)
    assert code == 2 and "not a Tavus stock voice" in text and "anna" in text
    assert tavus.state.faces == {}
    code, text = submit(capsys, str(image), "--force", "--voice-name", "ANNA", "--auto-fix-image", *env)
    assert code == 0, text
    (face,) = tavus.state.faces.values()
    assert face["status"] == "started"


def test_dry_run_uploads_nothing_and_shows_the_request(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                                       s3: SeaweedS3, capsys: pytest.CaptureFixture[str]) -> None:
    video = make_video(tmp_path / "dry.mp4", VideoSpec(seconds=2))
    code, text = submit(capsys, str(video), "--force", "--dry-run", "--prefix", "dry", *env)
    assert code == 0 and "dry run: would upload" in text and '"train_video_url"' in text
    assert s3.client().list_objects_v2(Bucket=BUCKET, Prefix="dry/").get("KeyCount", 0) == 0
    assert tavus.state.faces == {}


def test_a_timeout_after_the_post_does_not_create_a_second_face(tmp_path: Path, env: list[str],
                                                                tavus: TavusStandIn,
                                                                capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.run import submit as submit_run

    video = make_video(tmp_path / "slow.mp4", VideoSpec(seconds=2))
    monkeypatch.setattr(submit_run.SubmitOptions, "__init__", _with_timeout(submit_run.SubmitOptions.__init__))
    monkeypatch.setattr(submit_run, "check_cached", _passing_check)
    tavus.state.delay_create_s = 2.0
    code, text = submit(capsys, str(video), "--name", "Slow", *env)
    assert code == 2 and "may have reached Tavus" in text and len(tavus.state.faces) == 1
    tavus.state.delay_create_s = 0.0
    code, text = submit(capsys, str(video), "--name", "Slow", *env)
    assert code == 0 and "already submitted" in text and len(tavus.state.faces) == 1


def _with_timeout(init):  # type: ignore[no-untyped-def]
    def patched(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["timeout_s"] = 0.5
        init(self, *args, **kwargs)
    return patched


def test_missing_bucket_is_a_clear_error_before_any_work(tmp_path: Path, env: list[str],
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFLIGHT_BUCKET")
    code, text = submit(capsys, str(tmp_path / "nothing.mp4"), *env)
    assert code == 2 and "no bucket" in text


def test_fix_first_uploads_the_fixed_file(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    video = make_video(tmp_path / "phone.mp4", VideoSpec(codec="libx265", seconds=2))
    original = video.read_bytes()
    code, text = submit(capsys, str(video), "--fix", "--force", *env)
    fixed = tmp_path / "phone.fixed.mp4"
    assert code == 0 and "fix plan" in text and fixed.exists(), text
    assert tavus.state.fetched == [fixed.read_bytes()] and video.read_bytes() == original


def test_submit_right_after_check_takes_the_cached_result(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch, in_process: None) -> None:
    import preflight.media.analyze

    analysed: list[Path] = []
    real = preflight.media.analyze.analyze
    monkeypatch.setattr(preflight.media.analyze, "analyze", lambda path, **kw: analysed.append(path) or real(path, **kw))
    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    assert main(["check", "--quiet", str(video)]) == 1  # nobody in the synthetic clip
    capsys.readouterr()
    code, text = submit(capsys, str(video), "--dry-run", "--force", *env)
    assert code == 0 and "dry run: would upload" in text
    assert analysed == [video]  # the check's result was reused, not measured again


@pytest.mark.parametrize("expires", ["2h", "23h", "8d"])
def test_an_expiry_tavus_cannot_use_is_refused_before_anything_is_sent(
        tmp_path: Path, env: list[str], tavus: TavusStandIn, s3: SeaweedS3, capsys: pytest.CaptureFixture[str],
        expires: str) -> None:
    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    for extra in (["--dry-run"], []):
        code, text = submit(capsys, str(video), "--force", "--expires", expires, *extra, *env)
        assert code == 2 and f"--expires {expires}" in text and "24h" in text and "7d" in text
    assert not tavus.state.faces and tavus.state.fetched == []


def test_state_files_are_private_and_the_callback_query_is_never_shown(
        tmp_path: Path, env: list[str], tavus: TavusStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    import stat

    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    callback = "https://hooks.example.com/tavus?token=cb-secret-123&user=7"
    code, text = submit(capsys, str(video), "--force", "--callback-url", callback, "--format", "json", *env)
    assert code == 0, text
    assert "cb-secret-123" not in text
    assert json.loads(text.strip().splitlines()[-1])["request"]["callback_url"] == \
        "https://hooks.example.com/tavus?REDACTED"
    assert tavus.state.created[0]["callback_url"] == callback  # Tavus itself gets the real one
    state = tmp_path / "state"
    journal = state / "journal.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700 and stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert "cb-secret-123" not in journal.read_text()
    assert [p.name for p in state.iterdir() if p.name.endswith(".tmp")] == []


def test_journal_entries_written_at_once_are_all_kept(tmp_path: Path) -> None:
    """Two submits finishing together: each read-modify-write holds the lock, none loses the other's."""
    import threading

    from preflight.run.journal import Journal

    journal = Journal(tmp_path / "state" / "journal.json")
    threads = [threading.Thread(target=lambda i=i: [journal.put(f"k{i}-{j}", {"n": j}) for j in range(20)])
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(journal.get(f"k{i}-{j}") == {"n": j} for i in range(4) for j in range(20))


def test_fix_first_never_uploads_an_older_fixed_file(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The fix has nothing to do for this clip, so it writes nothing: the stale ``.fixed.mp4`` beside it
    (from another recording) must not be what is uploaded."""
    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    stale = make_video(tmp_path / "me.fixed.mp4", VideoSpec(seconds=3, width=160, height=120))
    code, text = submit(capsys, str(video), "--fix", "--force", *env)
    assert code == 0, text
    assert tavus.state.fetched == [video.read_bytes()] != [stale.read_bytes()]


def test_temporary_credentials_are_refused_before_the_upload(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                                             s3: SeaweedS3, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """With AWS_SESSION_TOKEN set (SSO, an assumed role, CI's OIDC) botocore knows no expiry: the URL
    could die with the session long before Tavus downloads it, so nothing is uploaded."""
    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-session-token")
    for extra in (["--dry-run"], []):
        code, text = submit(capsys, str(video), "--force", "--prefix", "temporary", *extra, *env)
        assert code == 2 and "temporary" in text and "expiry is unknown" in text and "long-term" in text
    listed = s3.client().list_objects_v2(Bucket=BUCKET, Prefix="temporary/")
    assert listed.get("KeyCount", 0) == 0 and not tavus.state.faces


def _pending_submit(video: Path, capsys: pytest.CaptureFixture[str], env: list[str], tavus: TavusStandIn,
                    monkeypatch: pytest.MonkeyPatch, *, created: bool) -> None:
    """A submit whose POST gets no answer: with ``created`` Tavus made the face anyway (a timeout),
    otherwise it refused before making one (a 502 from a proxy); either way the journal says pending."""
    from preflight.run import submit as submit_run

    monkeypatch.setattr(submit_run.SubmitOptions, "__init__", _with_timeout(submit_run.SubmitOptions.__init__))
    if created:
        tavus.state.delay_create_s = 2.0
    else:
        tavus.state.fail_create = [502]
    code, text = submit(capsys, str(video), "--name", "Ana", *env)
    assert code == 2, text
    tavus.state.delay_create_s = 0.0


def test_pending_recovery_pages_through_every_face(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.run import submit as submit_run

    monkeypatch.setattr(submit_run, "check_cached", _passing_check)
    for i in range(150):  # the face the cut-off submit made is on page 2
        tavus.state.add_face(f"someone {i}")
    video = make_video(tmp_path / "ana.mp4", VideoSpec(seconds=2))
    _pending_submit(video, capsys, env, tavus, monkeypatch, created=True)
    code, text = submit(capsys, str(video), "--name", "Ana", *env)
    assert code == 0 and "already submitted" in text and len(tavus.state.faces) == 151


def test_pending_recovery_ignores_an_older_face_of_the_same_name(tmp_path: Path, env: list[str],
                                                                 tavus: TavusStandIn,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An earlier recording named Ana, and one with another model, are not what the cut-off submit made."""
    from preflight.run import submit as submit_run

    monkeypatch.setattr(submit_run, "check_cached", _passing_check)
    old = tavus.state.add_face("Ana")
    other_model = tavus.state.add_face("Ana", model="phoenix-3", created_at="2099-01-01T00:00:00Z")
    video = make_video(tmp_path / "ana.mp4", VideoSpec(seconds=2))
    _pending_submit(video, capsys, env, tavus, monkeypatch, created=False)
    code, text = submit(capsys, str(video), "--name", "Ana", "--format", "json", *env)
    assert code == 0, text
    made = json.loads(text.strip().splitlines()[-1])["face_id"]
    assert made not in (old, other_model) and len(tavus.state.faces) == 3


def test_pending_recovery_stops_when_it_cannot_tell(tmp_path: Path, env: list[str], tavus: TavusStandIn,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.run import submit as submit_run

    monkeypatch.setattr(submit_run, "check_cached", _passing_check)
    video = make_video(tmp_path / "ana.mp4", VideoSpec(seconds=2))
    _pending_submit(video, capsys, env, tavus, monkeypatch, created=True)
    twin = tavus.state.add_face("Ana", created_at="2099-01-01T00:00:00Z")  # made meanwhile, elsewhere
    code, text = submit(capsys, str(video), "--name", "Ana", *env)
    assert code == 1 and twin in text and "--resubmit" in text and "preflight status" in text
    assert len(tavus.state.faces) == 2  # nothing guessed, nothing made


def test_a_least_privilege_user_can_submit(tmp_path: Path, env: list[str], tavus: TavusStandIn, s3: SeaweedS3,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Object read and write in the bucket, no ListBucket: the upload, its verification, the presigned
    URL and Tavus's fetch all work."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", WRITER_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", WRITER_SECRET)
    with pytest.raises(Exception, match="AccessDenied"):
        s3.client(WRITER_SECRET, WRITER_KEY).list_objects_v2(Bucket=BUCKET)  # the user really cannot list
    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    code, text = submit(capsys, str(video), "--force", "--prefix", "least", *env)
    assert code == 0, text
    assert tavus.state.fetched == [video.read_bytes()]


def test_a_wrong_api_key_stops_before_the_upload(tmp_path: Path, env: list[str], tavus: TavusStandIn, s3: SeaweedS3,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TAVUS_API_KEY", "sk-wrong-key")
    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    code = main(["submit", str(video), "--force", "--prefix", "wrongkey", *env])
    err = capsys.readouterr().err
    assert code == 2 and "401" in err and "TAVUS_API_KEY" in err and "sk-wrong-key" not in err
    listed = s3.client().list_objects_v2(Bucket=BUCKET, Prefix="wrongkey/")
    assert listed.get("KeyCount", 0) == 0


def test_tavus_image_check_runs_before_the_upload_and_a_failure_stops_the_submit(
        tmp_path: Path, env: list[str], tavus: TavusStandIn, s3: SeaweedS3, capsys: pytest.CaptureFixture[str]) -> None:
    small = make_image(tmp_path / "small.jpg", size=(400, 400))  # Tavus's stand-in fails it: under 512 px
    code, text = submit(capsys, str(small), "--force", "--voice-name", "anna", "--model", "phoenix-4.5",
                        "--prefix", "validation", *env)
    assert code == 1 and "Tavus's image check (phoenix-4.5) did not pass" in text
    assert "Image is at least 512x512 pixels (resolution)" in text and "--skip-tavus-validation" in text
    assert "image.resolution" in text  # preflight's own finding, beside Tavus's
    assert tavus.state.validations == [{"path": "/v2/faces/image-validation", "model": "phoenix-4.5",
                                        "mimeType": "image/jpeg"}]
    assert not tavus.state.faces
    assert s3.client().list_objects_v2(Bucket=BUCKET, Prefix="validation/").get("KeyCount", 0) == 0
    code, text = submit(capsys, str(small), "--force", "--voice-name", "anna", "--skip-tavus-validation", *env)
    assert code == 0 and len(tavus.state.faces) == 1 and len(tavus.state.validations) == 1


def test_a_passing_image_check_lets_the_face_be_made_and_the_legacy_path_is_used_where_needed(
        tmp_path: Path, env: list[str], tavus: TavusStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import real_portrait

    headshot = tmp_path / "head.png"
    real_portrait(640).save(headshot)
    tavus.state.legacy_validation_only = True
    code, text = submit(capsys, str(headshot), "--voice-name", "anna", *env)
    assert code == 0, text
    assert [v["path"] for v in tavus.state.validations] == ["/v2/replicas/image-validation"]
    assert tavus.state.validations[0]["mimeType"] == "image/png" and len(tavus.state.faces) == 1


def test_check_tavus_shows_the_remote_verdict_beside_the_local_one(
        tmp_path: Path, env: list[str], tavus: TavusStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import IMAGE_FILES_ONLY

    good = make_image(tmp_path / "good.jpg", size=(640, 640))
    small = make_image(tmp_path / "small.png", size=(300, 300))
    clip = make_video(tmp_path / "clip.mp4", VideoSpec(seconds=1))
    code = main(["check", "--tavus", "--api-url", tavus.url, "--rules", IMAGE_FILES_ONLY, "--format", "json",
                 str(good), str(small), str(clip)])
    doc = json.loads(capsys.readouterr().out)
    remote = {Path(r["path"]).name: [f for f in r["findings"] if f["rule"] == "tavus.image_validation"]
              for r in doc["results"]}
    assert remote["good.jpg"][0]["outcome"] == "pass" and remote["clip.mp4"] == []
    assert remote["small.png"][0]["outcome"] == "fail" and "at least 512x512" in remote["small.png"][0]["message"]
    assert doc["results"][0]["verdict"] == "pass" and code == 1
    assert len(tavus.state.validations) == 2


def test_submit_as_a_library_call(tmp_path: Path, env: list[str], tavus: TavusStandIn, s3: SeaweedS3) -> None:
    """A backend submits a file a user uploaded: the same steps, a typed outcome back, nothing printed."""
    import preflight

    video = make_video(tmp_path / "upload-7.mp4", VideoSpec(seconds=2))
    out = preflight.submit(video, bucket=BUCKET, api_key=KEY, api_url=tavus.url, name="User 7", force=True,
                           s3_endpoint=s3.endpoint, state_dir=tmp_path / "lib-state")
    assert isinstance(out, preflight.SubmitOutcome)
    assert out.exit_code == 0 and out.status == "started" and out.face_id in tavus.state.faces
    assert out.stopped is None and out.object is not None and out.object.startswith(f"s3://{BUCKET}/preflight/")
    assert out.request is not None and "X-Amz-Signature=REDACTED" in out.request["train_video_url"]
    assert KEY not in repr(out)
    refused = preflight.submit(video, bucket=BUCKET, api_key=KEY, api_url=tavus.url, name="User 8",
                               s3_endpoint=s3.endpoint, state_dir=tmp_path / "lib-state")
    assert refused.exit_code == 1 and refused.face_id is None and refused.stopped == "check"  # nothing forced
    assert refused.check is not None and any(f.rule == "video.duration" for f in refused.check.findings
                                             if f.outcome == "fail")


def _passing_remote(remote: object, choose: object, fail_level: str = "error", guard: object = None,
                    copies: object = None) -> object:
    """As _passing_check, for a link: the clip has nobody in it."""
    from preflight.model.report import FileResult

    return FileResult(str(remote), "video", "phoenix-4", "pass", None, {"link": {"etag": "e", "length": 1}}, []), remote


def test_a_link_is_checked_and_sent_as_it_is(tmp_path: Path, env: list[str], tavus: TavusStandIn, s3: SeaweedS3,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.http_media import serving

    video = make_video(tmp_path / "take.mp4", VideoSpec(seconds=2))
    stored = {o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    with serving(tmp_path) as (base, requests):
        url = f"{base}/f/take.mp4"
        code, text = submit(capsys, url, *env)  # the 2 s clip fails the check: nothing is sent
        assert code == 1 and "Not submitted" in text and not tavus.state.created
        assert any(p == "/f/take.mp4" for p, _ in requests)  # it was checked where it is
        code, text = submit(capsys, url, "--force", "--name", "Take", *env)
        assert code == 0, text
        code, text = submit(capsys, f"{base}/private/take.mp4", "--force", *env)  # Tavus could not fetch it
        assert code == 1 and "url.reachable" in text and "--force does not change that" in text
    (body,) = tavus.state.created
    assert body["train_video_url"] == url and tavus.state.fetched == [video.read_bytes()]
    assert {o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET).get("Contents", [])} == stored  # no upload


def test_an_s3_object_is_presigned_where_it_is_not_uploaded_again(tmp_path: Path, env: list[str],
                                                                   tavus: TavusStandIn, s3: SeaweedS3,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.run import submit as submit_run

    video = make_video(tmp_path / "take.mp4", VideoSpec(seconds=2))
    client = s3.client()
    client.upload_file(str(video), BUCKET, "takes/take9.mp4", ExtraArgs={"ContentType": "video/mp4"})
    before = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    monkeypatch.setattr(submit_run, "check_remote", _passing_remote)
    code, text = submit(capsys, f"s3://{BUCKET}/takes/take9.mp4", "--expires", "3d", "--format", "json", *env)
    assert code == 0, text
    (body,) = tavus.state.created
    assert "/takes/take9.mp4?" in body["train_video_url"] and "X-Amz-Expires=259200" in body["train_video_url"]
    assert tavus.state.fetched == [video.read_bytes()]
    assert {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])} == before
    assert main(["submit", f"s3://{BUCKET}/takes/", *env]) == 2  # a prefix is not one object


def test_phoenix_45_submit_wait_follows_tuning_and_the_journal_keeps_the_stage(
        tmp_path: Path, env: list[str], tavus: TavusStandIn, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.run import submit as submit_run
    from preflight.run import training

    monkeypatch.setattr(submit_run, "check_cached", _passing_check)
    monkeypatch.setattr(training, "pause", lambda s: None)
    video = make_video(tmp_path / "me.mp4", VideoSpec(seconds=2))
    code, text = submit(capsys, str(video), "--model", "phoenix-4.5", "--wait", "--format", "json", *env)
    assert code == 0, text
    doc = json.loads(text.strip().splitlines()[0])
    assert doc["stage"] == "done" and doc["finetune_status"] == "completed" and doc["status"] == "completed"
    assert "tuned: the final face is ready" in text
    (entry,) = json.loads((tmp_path / "state" / "journal.json").read_text()).values()
    assert entry["face_id"] == doc["face_id"] and entry["training"] == "done"


@pytest.fixture
def headshots(tmp_path: Path) -> Path:
    """The project's off-centre headshot (sample_media): it fails only face.centered, a framing rule
    that Tavus's image fixer repairs."""
    import shutil

    from tests.conftest import REPO

    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copy(REPO / "sample_media" / "headshot-off-centre.jpg", folder / "off.jpg")
    return folder


def test_a_headshot_gets_the_same_decision_local_and_as_a_link(
        tmp_path: Path, env: list[str], tavus: TavusStandIn, headshots: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.http_media import serving

    with serving(headshots) as (base, _):
        decisions = {}
        for where in (str(headshots / "off.jpg"), f"{base}/f/off.jpg"):
            for extra in ([], ["--auto-fix-image"]):
                code, text = submit(capsys, where, "--voice-name", "anna", "--dry-run", *extra, *env)
                decisions[(where.startswith("http"), bool(extra))] = code
                if not extra:
                    assert "face.centered" in text and "Not" in text, text
    assert decisions == {(False, False): 1, (False, True): 0, (True, False): 1, (True, True): 0}
    assert not tavus.state.faces


def test_an_image_link_on_phoenix_3_is_refused(tmp_path: Path, env: list[str], tavus: TavusStandIn, headshots: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.http_media import serving

    with serving(headshots) as (base, _):
        for where in (str(headshots / "off.jpg"), f"{base}/f/off.jpg"):
            code, text = submit(capsys, where, "--voice-name", "anna", "--model", "phoenix-3", *env)
            assert code == 2 and "image training is not available on phoenix-3" in text
    assert not tavus.state.faces and not tavus.state.validations


def test_the_library_submits_a_link_as_it_is(tmp_path: Path, env: list[str], tavus: TavusStandIn) -> None:
    """No bucket, no upload: one face from the link exactly as given."""
    import preflight
    from tests.support.http_media import serving

    video = make_video(tmp_path / "take.mp4", VideoSpec(seconds=2))
    with serving(tmp_path) as (base, _):
        url = f"{base}/f/take.mp4?user=7"
        out = preflight.submit(url, api_key=KEY, api_url=tavus.url, name="Take", force=True)
        assert out.exit_code == 0 and not out.local and out.object is None
        assert out.face_id in tavus.state.faces and len(tavus.state.faces) == 1
        again = preflight.submit(url, api_key=KEY, api_url=tavus.url, name="Take", force=True)
    assert again.existing and again.face_id == out.face_id and len(tavus.state.faces) == 1
    (body,) = tavus.state.created
    assert body["train_video_url"] == url and tavus.state.fetched == [video.read_bytes()]


def test_check_tavus_also_judges_an_image_link(tmp_path: Path, tavus: TavusStandIn, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import IMAGE_FILES_ONLY
    from tests.support.http_media import serving

    monkeypatch.setenv("TAVUS_API_KEY", KEY)
    make_image(tmp_path / "small.png", size=(300, 300))
    with serving(tmp_path) as (base, _):
        code = main(["check", "--tavus", "--api-url", tavus.url, "--rules", IMAGE_FILES_ONLY, "--format", "json",
                     f"{base}/f/small.png"])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    (finding,) = [f for f in result["findings"] if f["rule"] == "tavus.image_validation"]
    assert code == 1 and finding["outcome"] == "fail" and "at least 512x512" in finding["message"]
    assert tavus.state.validations == [{"path": "/v2/faces/image-validation", "model": "phoenix-4",
                                        "mimeType": "image/png"}]


def test_the_environment_becomes_one_submit_setup() -> None:
    """The command line, the service and the recorder read TAVUS_API_KEY, TAVUS_API_URL, PREFLIGHT_BUCKET
    and PREFLIGHT_S3_ENDPOINT in one place."""
    from preflight.api import DEFAULT_URL
    from preflight.run.environment import from_environment

    bare = from_environment({})
    assert (bare.connection.api_key, bare.connection.base_url, bare.has_key, bare.can_upload) == ("", DEFAULT_URL,
                                                                                                False, False)
    full = from_environment({"TAVUS_API_KEY": "k", "TAVUS_API_URL": "http://127.0.0.1:9", "PREFLIGHT_BUCKET": "b",
                             "PREFLIGHT_S3_ENDPOINT": "http://127.0.0.1:8"})
    assert full.can_upload and full.connection.base_url == "http://127.0.0.1:9"
    options = full.options(name="Ana", model="phoenix-3")
    assert (options.bucket, options.s3_endpoint, options.name, options.model) == ("b", "http://127.0.0.1:8", "Ana",
                                                                                  "phoenix-3")
    assert from_environment({"TAVUS_API_URL": "http://x"}, api_url="http://y").connection.base_url == "http://y"
