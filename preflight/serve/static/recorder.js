// preflight record: a guided take in the browser. Plain JavaScript, no build step.
// The page talks only to the local preflight server that served it.
"use strict";

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
// This launch's key: from the address `preflight record` printed, kept for this tab only, and taken out
// of the address bar (and so out of screenshots and history). Every API call sends it.
const key = params.get("key") || sessionStorage.getItem("preflight-key") || "";
if (params.get("key")) {
  sessionStorage.setItem("preflight-key", key);
  params.delete("key");
  history.replaceState(null, "", `${location.pathname}${params.toString() ? `?${params}` : ""}`);
}
const auth = (headers = {}) => ({ ...headers, authorization: `Bearer ${key}` });
const state = { config: null, stream: null, phase: "framing", guiding: false, recorder: null, take: null,
                uploads: Promise.resolve(), seq: 0, lost: false, audio: null, timer: null };

function item(list, cls, text) {
  const li = document.createElement("li");
  li.className = cls;
  li.textContent = text;
  list.appendChild(li);
  return li;
}

async function json(url, options = {}) {
  const reply = await fetch(url, { ...options, headers: auth(options.headers) });
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new Error(body.error || `HTTP ${reply.status}`);
  return body;
}

// --- 1. set-up ------------------------------------------------------------------------------------

async function setUp() {
  const rules = params.get("rules") || "";
  state.config = await json(`/v1/recorder/config${rules ? `?rules=${encodeURIComponent(rules)}` : ""}`);
  const speak = Number(params.get("speak_s")) || state.config.speak_s;
  const listen = Number(params.get("listen_s")) || state.config.listen_s;
  state.speak_s = speak;
  state.listen_s = listen;
  $("script-text").value = state.config.script;
  $("take-plan").textContent = `One take of ${speak} s speaking to the camera, then ${listen} s silent ` +
    `listening with your lips closed (rule set ${state.config.rules}${params.get("speak_s") ? ", rehearsal" : ""}).`;
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 30 } },
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (err) {
    $("camera-status").textContent = `No camera or microphone: ${err.message}. Allow both in the browser ` +
      "(the icon left of the address bar), then reload this page.";
    return;
  }
  $("camera").srcObject = state.stream;
  const video = state.stream.getVideoTracks()[0].getSettings();
  const list = $("setup-checks");
  list.textContent = "";
  const short = Math.min(video.width || 0, video.height || 0);
  const fps = video.frameRate || 0;
  $("camera-status").textContent = `Camera: ${video.width}x${video.height} at ${Math.round(fps)} fps.`;
  if (state.config.min_short_side === null) {
    // the rule set does not judge the resolution
  } else if (short >= state.config.min_short_side) {
    item(list, "ok", `video.resolution: ${video.width}x${video.height} meets the ${state.config.min_short_side}p minimum`);
  } else {
    item(list, "bad", `video.resolution: the camera gives ${video.width}x${video.height}, below the ` +
      `${state.config.min_short_side}p minimum. Use a 1080p camera (most phones and recent webcams), ` +
      "or close other apps that hold the camera at a lower resolution.");
  }
  if (state.config.min_fps === null) {
    // the rule set does not judge the frame rate
  } else if (fps >= state.config.min_fps) {
    item(list, "ok", `video.fps: ${Math.round(fps)} fps meets the ${state.config.min_fps} fps minimum`);
  } else {
    item(list, "bad", `video.fps: ${Math.round(fps)} fps, below ${state.config.min_fps}. Add light ` +
      "(cameras slow down in the dark) or choose 30 fps in the camera's settings.");
  }
  $("room").disabled = false;  // the sound starts from the user's click: a browser starts it suspended before
  $("start").disabled = false;
  state.guiding = true;
  guideLoop();
}

// --- sound: level meter, clipping, the room's noise floor ---------------------------------------------

// Created and resumed from the user's click: before a gesture, browsers start an AudioContext suspended, and
// a suspended one reads silence (a noisy room would pass as quiet).
async function measureRoomFromClick() {
  if (!state.audio) startSound();
  await state.audio.context.resume();
  measureRoom();
}

function startSound() {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(state.stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser);
  state.audio = { context, analyser, data: new Float32Array(analyser.fftSize) };
  const draw = () => {
    const { rms, peak } = level();
    const db = 20 * Math.log10(Math.max(rms, 1e-6));
    const bar = $("meter-bar");
    bar.style.width = `${Math.max(0, Math.min(100, (db + 60) / 60 * 100))}%`;
    bar.classList.toggle("clip", peak >= 0.99);
    $("meter").setAttribute("aria-valuenow", db.toFixed(0));
    $("meter-text").textContent = peak >= 0.99 ? "Too loud: the sound clips. Move the microphone away or speak softer."
      : `${db.toFixed(0)} dBFS`;
    requestAnimationFrame(draw);
  };
  draw();
}

function level() {
  const { analyser, data } = state.audio;
  analyser.getFloatTimeDomainData(data);
  let sum = 0, peak = 0;
  for (const v of data) { sum += v * v; peak = Math.max(peak, Math.abs(v)); }
  return { rms: Math.sqrt(sum / data.length), peak };
}

function measureRoom() {
  $("room-status").textContent = "Measuring the room's quiet for 3 s: please stay silent…";
  const levels = [];
  const started = performance.now();
  const tick = setInterval(() => {
    levels.push(20 * Math.log10(Math.max(level().rms, 1e-6)));
    if (performance.now() - started < 3000) return;
    clearInterval(tick);
    levels.sort((a, b) => a - b);
    const floor = levels[Math.floor(levels.length * 0.1)];
    const limit = state.config.max_noise_dbfs;
    if (limit === null) { $("room-status").textContent = ""; return; }
    $("room-status").textContent = floor <= limit
      ? `audio.noise: the room is quiet (noise floor ${floor.toFixed(0)} dBFS, limit ${limit}).`
      : `audio.noise: the room is noisy (noise floor ${floor.toFixed(0)} dBFS, over ${limit}). Close windows ` +
        "and doors, switch off fans, air conditioning and notifications.";
    $("room-status").className = floor <= limit ? "ok" : "bad";
  }, 100);
}

// --- 2. live guidance ---------------------------------------------------------------------------------

const canvas = document.createElement("canvas");
canvas.width = 640;
canvas.height = 360;

async function guideLoop() {
  while (state.guiding) {
    const started = performance.now();
    try { await guideOnce(); } catch (err) { showHints([["bad", `Guidance paused: ${err.message}`]]); }
    await new Promise((r) => setTimeout(r, Math.max(50, 200 - (performance.now() - started))));
  }
}

async function guideOnce() {
  const video = $("camera");
  if (!video.videoWidth) return;
  // the analysis's own pixel budget (640x360) whatever the shape: 640x360 landscape, 360x640 portrait
  const scale = Math.min(1, Math.sqrt(640 * 360 / (video.videoWidth * video.videoHeight)));
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  const frame = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.75));
  const rules = encodeURIComponent(state.config.rules);
  const found = await json(`/v1/guidance?rules=${rules}`, { method: "POST", body: frame,
                                                            headers: { "content-type": "image/jpeg" } });
  drawOverlay(found);
  showHints(hints(found));
}

function hints(found) {
  const out = [];
  const failing = Object.fromEntries(found.findings.filter((f) => f.outcome === "fail").map((f) => [f.rule, f]));
  const face = found.faces[0];
  if (failing["face.count"]) {
    out.push(["bad", found.faces.length === 0 ? "Step into view: no face is seen" : "Only you in the picture"]);
  }
  if (failing["face.size"] && face) {
    out.push(["bad", face.h < state.config.face_min_height ? "Move closer to the camera" : "Move back a little"]);
  }
  if (failing["face.centered"] && face) {
    const cx = face.x + face.w / 2;
    out.push(["bad", cx < 0.5 ? "Move to the centre: a little to your left" : "Move to the centre: a little to your right"]);
  }
  if (failing["face.head_in_frame"]) out.push(["bad", "Leave a little room above your head"]);
  if (failing["face.looking"]) out.push(["bad", "Look straight at the camera"]);
  if (failing["face.lighting"]) out.push(["bad", "More even light on your face (a lamp or a window in front of you)"]);
  if (failing["face.sharpness"]) out.push(["bad", "Hold still, and clean or focus the lens"]);
  if (state.phase === "listening" && found.lips_closed && found.lips_closed.outcome === "fail") {
    out.push(["bad", "Close your lips"]);
  }
  if (!out.length) out.push(["ok", state.phase === "listening" ? "Good: lips closed, stay still" : "Good framing: keep it"]);
  return out;
}

function showHints(list) {
  const ul = $("hints");
  const text = list.map((h) => h[1]).join("|");
  if (ul.dataset.text === text) return;  // unchanged: do not make screen readers repeat it
  ul.dataset.text = text;
  ul.textContent = "";
  for (const [cls, words] of list) item(ul, cls, words);
}

function drawOverlay(found) {
  const overlay = $("overlay");
  const video = $("camera");
  overlay.width = overlay.clientWidth;
  overlay.height = overlay.clientHeight;
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  // where the picture is drawn inside the element (object-fit: contain)
  const scale = Math.min(overlay.width / video.videoWidth, overlay.height / video.videoHeight);
  const w = video.videoWidth * scale, h = video.videoHeight * scale;
  const x0 = (overlay.width - w) / 2, y0 = (overlay.height - h) / 2;
  const min = state.config.face_min_height, max = state.config.face_max_height;
  if (min !== null && max !== null) {
    // the target frame: centred a little high, a face as tall as the middle of the allowed window
    const target = h * (min + max) / 2;
    ctx.setLineDash([8, 6]);
    ctx.strokeStyle = "rgba(255,255,255,.8)";
    ctx.lineWidth = 2;
    ctx.strokeRect(x0 + w / 2 - target * 0.4, y0 + h * 0.38 - target / 2, target * 0.8, target);
    ctx.setLineDash([]);
  }
  found.faces.forEach((f, i) => {
    ctx.strokeStyle = i === 0 && found.faces.length === 1 ? "#2da44e" : "#cf222e";
    ctx.lineWidth = 3;
    ctx.strokeRect(x0 + f.x * w, y0 + f.y * h, f.w * w, f.h * h);
  });
}

// --- 3. the take ----------------------------------------------------------------------------------------

function recorderType() {
  for (const type of ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm", "video/mp4"]) {
    if (window.MediaRecorder && MediaRecorder.isTypeSupported(type)) return type;
  }
  return "";
}

// One chunk, retried with backoff when the network drops it or the server is briefly away (a retry the
// server already has is answered as a duplicate); a refusal (4xx) is not retried. Never rejects, so the
// chain of uploads goes on and the page never sticks at "Saving…".
async function sendChunk(seq, blob) {
  let delay = 500;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      const reply = await fetch(`/v1/takes/${state.take.id}/chunks?seq=${seq}`,
                                { method: "POST", body: blob, headers: auth() });
      if (reply.ok) {
        state.sentBytes += blob.size;
        document.body.dataset.sentBytes = String(state.sentBytes);
        return true;
      }
      if (reply.status < 500 && reply.status !== 429) return false;
    } catch (err) {
      // the request did not complete: tried again below
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 8000);
  }
  return false;
}

async function startTake() {
  $("start").disabled = true;
  $("result").hidden = true;
  const mime = recorderType();
  state.take = await json("/v1/takes", { method: "POST", headers: { "content-type": "application/json" },
                                         body: JSON.stringify({ mime, rules: state.config.rules }) });
  state.seq = 0;
  state.uploads = Promise.resolve();
  state.sentBytes = 0;
  state.recorder = new MediaRecorder(state.stream, mime ? { mimeType: mime, videoBitsPerSecond: 8_000_000 } : {});
  state.recorder.ondataavailable = (event) => {
    if (!event.data.size) return;
    const seq = state.seq++;
    // in order, one at a time: what arrived is kept even if the tab closes
    state.uploads = state.uploads.then(() => sendChunk(seq, event.data)).then((sent) => {
      if (!sent) state.lost = true;
    });
  };
  state.recorder.onstop = finishTake;
  state.recorder.start(1000);
  $("stop").disabled = false;
  $("take-status").textContent = "Recording…";
  runPrompter();
}

function runPrompter() {
  const prompter = $("prompter");
  prompter.hidden = false;
  const started = performance.now();
  const total = state.speak_s + state.listen_s;
  state.phase = "speaking";
  $("phase").textContent = "Speak to the camera";
  $("script").textContent = $("script-text").value;
  state.timer = setInterval(() => {
    const t = (performance.now() - started) / 1000;
    if (t < state.speak_s) {
      $("countdown").textContent = `${Math.ceil(state.speak_s - t)} s`;
      const script = $("script");
      script.scrollTop = (script.scrollHeight - script.clientHeight) * (t / state.speak_s);
    } else if (t < total) {
      if (state.phase !== "listening") {
        state.phase = "listening";
        $("phase").textContent = "Listen: lips closed, stay still";
        $("script").textContent = "Look at the camera and stay silent.";
      }
      $("countdown").textContent = `${Math.ceil(total - t)} s`;
    } else {
      stopTake();
    }
  }, 200);
}

function stopTake() {
  clearInterval(state.timer);
  $("stop").disabled = true;
  $("prompter").hidden = true;
  state.phase = "framing";
  if (state.recorder && state.recorder.state !== "inactive") state.recorder.stop();
}

async function finishTake() {
  $("take-status").textContent = "Saving the last seconds…";
  await state.uploads;
  $("take-status").textContent = "Fixing (H.264 MP4, constant frame rate, loudness) and checking the take…";
  try {
    const done = await json(`/v1/takes/${state.take.id}/finish`, { method: "POST" });
    showResult(done);
    $("take-status").textContent = state.lost ? "Some seconds did not reach the server." : "";
  } catch (err) {
    $("take-status").textContent = `The take could not be checked: ${err.message}`;
  }
  $("start").disabled = false;
}

// --- 4. after the take ----------------------------------------------------------------------------------

function showResult(done) {
  const result = done.report.results[0];
  const section = $("result");
  section.hidden = false;
  const verdict = $("verdict");
  verdict.className = result.verdict;
  verdict.textContent = { pass: "PASS: ready for Tavus", fail: "FAIL: see what to change below",
                          error: `Could not be checked: ${result.error}` }[result.verdict] || result.verdict;
  const list = $("findings");
  list.textContent = "";
  const shown = result.findings.filter((f) => f.outcome === "fail");
  for (const f of shown) {
    const li = item(list, f.severity === "error" ? "bad" : "warn", "");
    const rule = document.createElement("span");
    rule.className = "rule";
    rule.textContent = `${f.rule} `;
    li.appendChild(rule);
    li.appendChild(document.createTextNode(f.message));
    const fix = document.createElement("span");
    fix.className = "fix";
    fix.textContent = f.fix;
    li.appendChild(fix);
  }
  if (!shown.length) item(list, "ok", "Every rule passes.");
  drawTimeline(result);
  $("files").textContent = `Saved: ${done.recording}${done.fixed ? `, ${done.fixed}` : ""}, ${done.report_json}`;
  $("report-link").dataset.take = done.id;
  $("submit").hidden = !state.config.submit;
  $("verdict").focus?.();
}

function drawTimeline(result) {
  const svg = $("timeline");
  svg.textContent = "";
  const facts = result.facts || {};
  const duration = facts.duration_s || facts.video_duration_s;
  const spans = result.findings.filter((f) => f.outcome === "fail" && f.spans && f.spans.length);
  if (!duration || !spans.length) { svg.style.height = "0"; return; }
  const row = 18, width = svg.clientWidth || 800, label = 170;
  svg.style.height = `${spans.length * row + 20}px`;
  const ns = "http://www.w3.org/2000/svg";
  spans.forEach((f, i) => {
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", 0); text.setAttribute("y", i * row + 13); text.textContent = f.rule;
    svg.appendChild(text);
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", label); bar.setAttribute("y", i * row + 3); bar.setAttribute("height", 12);
    bar.setAttribute("width", width - label); bar.setAttribute("fill", "#eaeef2");
    svg.appendChild(bar);
    for (const s of f.spans) {
      const span = document.createElementNS(ns, "rect");
      span.setAttribute("x", label + (width - label) * s.start_s / duration); span.setAttribute("y", i * row + 3);
      span.setAttribute("width", Math.max(2, (width - label) * (s.end_s - s.start_s) / duration));
      span.setAttribute("height", 12); span.setAttribute("fill", f.severity === "error" ? "#cf222e" : "#bf8700");
      svg.appendChild(span);
    }
  });
  const axis = document.createElementNS(ns, "text");
  axis.setAttribute("x", width - 60); axis.setAttribute("y", spans.length * row + 16);
  axis.textContent = `${duration.toFixed(1)} s`;
  svg.appendChild(axis);
}

async function submitTake() {
  $("submit").disabled = true;
  $("submit-status").textContent = "Uploading and creating the face…";
  try {
    const outcome = await json(`/v1/takes/${state.take.id}/submit`, { method: "POST" });
    $("submit-status").textContent = outcome.face_id ? `Face ${outcome.face_id} created (${outcome.status}).`
      : `Not submitted: ${outcome.message}`;
  } catch (err) {
    $("submit-status").textContent = `Not submitted: ${err.message}`;
  }
  $("submit").disabled = false;
}

$("start").addEventListener("click", startTake);
$("room").addEventListener("click", measureRoomFromClick);
$("stop").addEventListener("click", stopTake);
$("again").addEventListener("click", () => { $("result").hidden = true; $("start").focus(); });
$("submit").addEventListener("click", submitTake);
// The report needs the key too, which a plain link cannot send: fetched, then shown from a blob.
$("report-link").addEventListener("click", async (event) => {
  event.preventDefault();
  const reply = await fetch(`/v1/takes/${event.currentTarget.dataset.take}/report.html`, { headers: auth() });
  if (reply.ok) window.open(URL.createObjectURL(await reply.blob()), "_blank", "noopener");
});
setUp().catch((err) => { $("camera-status").textContent = `Set-up failed: ${err.message}`; });
