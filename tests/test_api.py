"""The Tavus API client and the status/voices commands, against a local server that speaks the contract."""

from __future__ import annotations


import httpx
import pytest

from preflight.api.client import Face, TavusClient
from preflight.errors import ApiError
from preflight.cli import main
from tests.support.tavus_server import API_KEY, TavusStandIn

KEY = API_KEY


def client(server: TavusStandIn, **kw: object) -> TavusClient:
    return TavusClient(KEY, server.url, sleep=lambda s: None, **kw)  # type: ignore[arg-type]


def test_create_and_poll_a_face(tavus: TavusStandIn) -> None:
    with client(tavus) as api:
        face = api.create_face({"train_video_url": "https://example.invalid/v.mp4", "face_name": "me"})
        assert face.status == "started" and face.face_id.startswith("r")
        polled = [api.get_face(face.face_id) for _ in range(3)]
    assert [p.progress for p in polled] == ["10/100", "55/100", "100/100"]
    assert polled[-1].status == "completed" and polled[-1].done and polled[0].percent == 10.0
    assert all(headers.get("x-api-key") == KEY for _, _, headers in tavus.state.requests)


@pytest.mark.parametrize(("body", "message"), [
    ({}, "HTTP 400: Either train_video_url or train_image_url must be provided."),
    ({"train_image_url": "https://example.invalid/a.jpg"}, "voice_name is required"),
    ({"train_image_url": "https://example.invalid/a.jpg", "voice_name": "nobody"}, "Invalid voice_name: nobody"),
])
def test_400_bodies_become_clear_errors(tavus: TavusStandIn, body: dict, message: str) -> None:
    with client(tavus) as api, pytest.raises(ApiError) as err:
        api.create_face(body)
    assert message in str(err.value) and err.value.status == 400


def test_401_says_to_check_the_key_and_never_shows_it(tavus: TavusStandIn) -> None:
    with TavusClient("wrong-key", tavus.url) as api, pytest.raises(ApiError) as err:
        api.get_face("r1")
    assert "HTTP 401: Invalid access token (check TAVUS_API_KEY)" in str(err.value)
    assert "wrong-key" not in str(err.value) and "wrong-key" not in repr(api)


def test_500_and_429_are_retried_with_backoff_then_succeed(tavus: TavusStandIn) -> None:
    pauses: list[float] = []
    with TavusClient(KEY, tavus.url, sleep=pauses.append, backoff_s=0.5) as api:
        tavus.state.fail_next = [429]
        face = api.create_face({"train_video_url": "https://example.invalid/v.mp4"})
        tavus.state.fail_next = [500, 429, 503]
        assert api.get_face(face.face_id).face_id == face.face_id
    assert len(tavus.state.faces) == 1
    assert len(pauses) == 4 and all(p <= 60 for p in pauses)


def test_a_create_that_got_a_5xx_is_not_blindly_repeated(tavus: TavusStandIn) -> None:
    tavus.state.fail_next = [502]
    with client(tavus) as api, pytest.raises(ApiError, match="HTTP 502"):
        api.create_face({"train_video_url": "https://example.invalid/v.mp4"})


def test_retries_give_up_with_the_last_error(tavus: TavusStandIn) -> None:
    tavus.state.fail_next = [500] * 10
    with client(tavus, retries=2) as api, pytest.raises(ApiError, match="HTTP 500"):
        api.get_face("r1")


def test_unreachable_server_is_one_line() -> None:
    with TavusClient(KEY, "http://127.0.0.1:9", retries=1, sleep=lambda s: None) as api, \
            pytest.raises(ApiError, match="cannot reach the Tavus API"):
        api.get_face("r1")


def test_voices_pages_and_search(tavus: TavusStandIn) -> None:
    with client(tavus) as api:
        every = [v.voice_name for v in api.voices(page_size=2)]
        some = [v.voice_name for v in api.voices("AN")]
    assert every == ["anna", "benjamin", "ivy", "james", "julia", "liam"]
    assert some == ["anna"]
    assert sum(1 for _, path, _ in tavus.state.requests if path.startswith("/v2/voices?")) == 3 + 1


def test_face_parse_tolerates_old_names_and_new_fields() -> None:
    face = Face.parse({"replica_id": "r9", "status": "ready", "replica_name": "x", "brand_new": 1})
    assert (face.face_id, face.name, face.done) == ("r9", "x", True)
    with pytest.raises(ApiError):
        Face.parse({"status": "started"})


def test_mock_transport_seam() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-api-key"] == KEY
        return httpx.Response(200, json={"face_id": "r1", "status": "error", "error_message": "video too short"})

    with TavusClient(KEY, "https://tavus.test", transport=httpx.MockTransport(handler)) as api:
        assert api.get_face("r1").error_message == "video too short"


def test_status_wait_follows_training_to_the_end(tavus: TavusStandIn, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.commands import api as api_cmd

    with client(tavus) as api:
        face_id = api.create_face({"train_video_url": "https://example.invalid/v.mp4", "face_name": "me"}).face_id
    waits: list[float] = []
    code = api_cmd.status(api_cmd.Connection(KEY, tavus.url), face_id, True, print, sleep=waits.append)
    assert code == 0 and "completed" in capsys.readouterr().out
    assert waits[0] == 30.0 and waits[1] == 45.0  # polite, growing intervals


def test_status_reports_a_training_error_with_exit_1(tavus: TavusStandIn, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with client(tavus) as api:
        face_id = api.create_face({"train_video_url": "https://example.invalid/v.mp4"}).face_id
    tavus.state.faces[face_id]["fails"] = "The video provided does not meet the minimum duration requirement"
    monkeypatch.setenv("TAVUS_API_KEY", KEY)
    assert main(["status", face_id, "--api-url", tavus.url]) == 1
    out = capsys.readouterr()
    assert "error: The video provided does not meet the minimum duration" in out.out
    assert KEY not in out.out + out.err


def test_cli_voices_and_missing_key(tavus: TavusStandIn, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVUS_API_KEY", KEY)
    assert main(["voices", "--search", "j", "--api-url", tavus.url]) == 0
    assert capsys.readouterr().out.split() == ["benjamin", "james", "julia"]
    monkeypatch.delenv("TAVUS_API_KEY")
    assert main(["voices", "--api-url", tavus.url]) == 2
    assert "TAVUS_API_KEY is not set" in capsys.readouterr().err


def _phoenix_45_face(tavus: TavusStandIn) -> str:
    with client(tavus) as api:
        return api.create_face({"train_video_url": "https://example.invalid/v.mp4", "face_name": "me",
                                "model_name": "phoenix-4.5"}).face_id


def test_phoenix_45_is_followed_past_the_preview_to_the_end_of_tuning(
        tavus: TavusStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.commands import api as api_cmd

    face_id = _phoenix_45_face(tavus)
    waits: list[float] = []
    code = api_cmd.status(api_cmd.Connection(KEY, tavus.url), face_id, True, print, sleep=waits.append)
    out = capsys.readouterr().out
    assert code == 0 and "tuned: the final face is ready" in out
    assert tavus.state.faces[face_id]["finetune_status"] == "completed"
    # three polls to the preview (status completed), then four more while tuning: 4.5 did not stop early
    assert len(waits) == 2 + len(tavus.state.finetune_steps)


def test_phoenix_45_preview_is_shown_as_a_stage_not_as_done(tavus: TavusStandIn,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.commands import api as api_cmd

    face_id = _phoenix_45_face(tavus)
    conn = api_cmd.Connection(KEY, tavus.url)
    for _ in range(4):  # through training to the preview, and the first tuning step
        api_cmd.status(conn, face_id, False, print)
    capsys.readouterr()
    assert api_cmd.status(conn, face_id, False, print) == 0
    out = capsys.readouterr().out
    assert ": completed — preview ready (watermarked); tuning in_progress" in out


def test_phoenix_45_failed_tuning_exits_1_and_says_the_preview_stays(
        tavus: TavusStandIn, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.run import training

    face_id = _phoenix_45_face(tavus)
    tavus.state.faces[face_id]["tuning_fails"] = True
    monkeypatch.setattr(training, "pause", lambda s: None)
    monkeypatch.setenv("TAVUS_API_KEY", KEY)
    assert main(["status", face_id, "--wait", "--api-url", tavus.url]) == 1
    out = capsys.readouterr().out
    assert "tuning failed; the watermarked preview stays usable" in out and "--resubmit" in out
    assert tavus.state.faces[face_id]["status"] == "completed"  # the face itself is not an error


def test_phoenix_4_has_no_tuning_stage(tavus: TavusStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.api.client import Face

    face = Face.parse({"face_id": "r1", "status": "completed", "model_name": "phoenix-4"})
    assert face.stage == "done" and face.done and not face.two_stage
    preview = Face.parse({"face_id": "r2", "status": "completed", "model_name": "phoenix-4.5",
                          "finetune_status": None})
    assert preview.stage == "preview" and not preview.done
    tuned = Face.parse({"face_id": "r3", "status": "ready", "finetune_status": "completed"})
    assert tuned.stage == "done" and tuned.done
