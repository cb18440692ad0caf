// <preflight-capture>'s take (take.js): recorded in one-second chunks, each sent in order and again with
// backoff until the server has it; the teleprompter and the countdowns; the fix and the check; a take this
// tab was making picked up again after a reload.

import { recorderType } from "./logic.js";
import { showResult } from "./result.js";
import { sendChunk, sleep, untilChecked } from "./server.js";

/** @typedef {import("../capture.js").PreflightCapture} Capture */

/** @param {Capture} host */
export const storageKey = (host) => `preflight-take:${host.token.slice(-16)}`;

/** @param {Capture} host */
export async function start(host) {
  const s = host._s;
  host.$("start").disabled = true;
  host.$("result").hidden = true;
  host.$("resume").hidden = true;
  const mime = recorderType((type) => Boolean(window.MediaRecorder) && MediaRecorder.isTypeSupported(type));
  try {
    s.take = await host.api("v1/takes", { method: "POST", headers: { "content-type": "application/json" },
                                         body: JSON.stringify({ mime }) });
  } catch (err) {
    host.$("start").disabled = false;
    return host.fail(err);
  }
  sessionStorage.setItem(storageKey(host), s.take.id);
  s.known.add(s.take.id);
  Object.assign(s, { seq: 0, sentBytes: 0, lost: false, uploads: Promise.resolve() });
  s.recorder = new MediaRecorder(s.stream, mime ? { mimeType: mime, videoBitsPerSecond: 8_000_000 } : {});
  s.recorder.ondataavailable = (/** @type {BlobEvent} */ event) => {
    s.dataAt = performance.now();
    if (!event.data.size) return;
    const seq = s.seq++;
    const url = host.url(`v1/takes/${s.take.id}/chunks?seq=${seq}`);
    s.uploads = s.uploads.then(() => sendChunk(url, host.token, event.data, seq)).then((/** @type {boolean} */ kept) => {
      if (!kept) { s.lost = true; return; }
      s.sentBytes += event.data.size;
      host.dataset.sentBytes = String(s.sentBytes);
    });
  };
  s.recorder.onstop = () => finish(host);
  s.recorder.start(1000);
  host.$("stop").disabled = false;
  host.$("take-status").textContent = host.t("recording");
  prompt(host);
}

/**
 * The teleprompter and the countdowns: speaking, then listening, then the take stops. A countdown changes
 * its words once a second (its live region says each); with reduced motion the script steps a screenful
 * at a time instead of scrolling.
 * @param {Capture} host
 */
function prompt(host) {
  const s = host._s, c = s.config;
  host.$("prompter").hidden = false;
  const started = performance.now(), total = c.speak_s + c.listen_s;
  const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
  s.phase = "speaking";
  host.$("phase").textContent = host.t("phase_speak");
  host.$("script").textContent = host.$("script-text").value;
  const count = (/** @type {number} */ left) => {
    const words = host.t("seconds", { n: Math.ceil(left) });
    if (host.$("countdown").textContent !== words) host.$("countdown").textContent = words;
  };
  s.timer = setInterval(() => {
    const t = (performance.now() - started) / 1000;
    if (t < c.speak_s) {
      count(c.speak_s - t);
      const script = host.$("script"), target = (script.scrollHeight - script.clientHeight) * (t / c.speak_s);
      const page = Math.max(1, script.clientHeight);
      script.scrollTop = still ? Math.floor(target / page) * page : target;
    } else if (t < total) {
      if (s.phase !== "listening") {
        s.phase = "listening";
        host.$("phase").textContent = host.t("phase_listen");
        host.$("script").textContent = host.t("listen_script");
      }
      count(total - t);
    } else {
      stop(host);
    }
  }, 200);
}

/** @param {Capture} host */
export function stop(host) {
  clearInterval(host._s.timer);
  host.$("stop").disabled = true;
  host.$("prompter").hidden = true;
  host._s.phase = "framing";
  if (host._s.recorder && host._s.recorder.state !== "inactive") host._s.recorder.stop();
}

/** The last chunks, then the fix and the check. @param {Capture} host */
export async function finish(host) {
  const s = host._s;
  host.$("resume").hidden = true;
  host.$("take-status").textContent = host.t("saving");
  if (s.recorder) {
    // Firefox may give a take's data only after "stop" (seen here: all of it, 1.8 MB, 3 ms to seconds later):
    // the take goes on once its recorder has been quiet for 0.5 s, and while it has given nothing at all,
    // it is waited for up to 15 s before the person hears that this browser recorded nothing
    const stopped = performance.now();
    s.dataAt = Math.max(s.dataAt || 0, stopped);
    while (performance.now() - s.dataAt < 500 || (s.seq === 0 && performance.now() - stopped < 15000)) await sleep(100);
  }
  await s.uploads;
  if (s.recorder && s.seq === 0) return recordedNothing(host);  // never sent to be checked as empty
  host.$("take-status").textContent = host.t("checking");
  try {
    await host.api(`v1/takes/${s.take.id}/finish`, { method: "POST" });
    showResult(host, await untilChecked(() => host.api(`v1/takes/${s.take.id}`)), false);
    host.$("take-status").textContent = s.lost ? host.t("lost") : "";
  } catch (err) {
    host.$("take-status").textContent = host.t("check_failed", { error: /** @type {Error} */ (err).message });
  }
  host.$("start").disabled = false;
}

/**
 * The browser's recorder gave no data at all (WebKitGTK's did here): the person is told in plain words,
 * and preflight-error says why (reason "recorder").
 * @param {Capture} host
 */
function recordedNothing(host) {
  const message = host.t("recorder_empty");
  host.$("take-status").textContent = "";
  host.$("alert").hidden = false;
  host.$("alert").textContent = message;
  host.$("start").disabled = false;
  host.emit("preflight-error", { reason: "recorder", status: null, message });
}

// after a reload within the session: the take this tab was making is picked up where the server has it
/** @param {Capture} host */
export async function resume(host) {
  const takeId = sessionStorage.getItem(storageKey(host));
  if (!takeId) return;
  let take;
  try { take = await host.api(`v1/takes/${takeId}`); } catch (err) { return; }
  Object.assign(host._s, { take, uploads: Promise.resolve() });
  host._s.known.add(take.id);
  if (take.status === "done") showResult(host, take, false);
  else if (take.status === "checking") finish(host);
  else if (take.bytes > 0) {
    host.$("take-status").textContent = host.t("resumed", { bytes: take.bytes });
    host.$("resume").hidden = false;
  }
}

