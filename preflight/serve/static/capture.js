// <preflight-capture>: a guided take of a Tavus training video, embedded in any page.
//
//   <script type="module" src="https://preflight.example.com/v1/capture.js"></script>
//   <preflight-capture server="https://preflight.example.com" token="pfcs_…" lang="de"></preflight-capture>
//
// An ES module, no build step, nothing loaded from another host, no inline script or style (a strict CSP
// holds: script-src and style-src the preflight server, connect-src too). Its controls are real buttons in an
// open shadow root; it is themed by CSS custom properties (--preflight-accent, --preflight-ok, --preflight-bad,
// --preflight-radius, --preflight-font) and ::part(). Events (bubbling, composed): preflight-ready,
// preflight-guidance, preflight-take {take_id, verdict, findings}, preflight-error {reason, message}.
// Strings come from /v1/capture/i18n/{lang}.json; `element.strings = {...}` overrides any of them.

const HERE = new URL(".", import.meta.url);  // …/v1/: the server (and any path prefix) this module came from
const TEMPLATE = `
<link rel="stylesheet" href="${new URL("capture.css", HERE)}">
<div class="root" part="root">
  <header part="header"><h2 data-t="title"></h2><p class="muted" data-t="private" id="private"></p></header>
  <p id="alert" role="alert" part="alert" hidden></p>
  <section id="setup" part="setup" aria-labelledby="setup-title">
    <h3 id="setup-title" data-t="setup_title"></h3>
    <p id="camera-status" role="status"></p>
    <ul id="setup-checks" class="checks"></ul>
    <button id="room" type="button" part="button" disabled data-t="room_button"></button>
    <p id="room-status" role="status" data-t="room_idle"></p>
    <div id="handoff" part="handoff" hidden>
      <button id="handoff-button" type="button" part="button secondary" data-t="handoff_button"></button>
      <div id="handoff-box" hidden>
        <canvas id="qr" part="qr" role="img"></canvas>
        <p data-t="handoff_text"></p>
        <p id="handoff-status" role="status" data-t="handoff_waiting"></p>
      </div>
    </div>
  </section>
  <section id="stage" part="stage" aria-labelledby="stage-title">
    <h3 id="stage-title" data-t="stage_title"></h3>
    <div class="viewer" id="viewer" part="viewer">
      <video id="camera" autoplay muted playsinline></video>
      <canvas id="overlay" aria-hidden="true"></canvas>
      <div id="prompter" part="prompter" hidden>
        <p id="phase"></p><p id="script"></p><p id="countdown" aria-live="polite"></p>
      </div>
    </div>
    <div class="side">
      <h4 data-t="guidance_title"></h4>
      <ul id="hints" aria-live="polite" class="hints" part="hints"></ul>
      <h4 data-t="sound_title"></h4>
      <div class="meter" role="meter" id="meter" aria-valuemin="-60" aria-valuemax="0"><div id="meter-bar"></div></div>
      <p id="meter-text"></p>
      <details><summary data-t="script_title"></summary><textarea id="script-text" rows="7"></textarea></details>
    </div>
  </section>
  <section id="take" part="take" aria-labelledby="take-title">
    <h3 id="take-title" data-t="take_title"></h3>
    <p id="take-plan"></p>
    <div class="buttons">
      <button id="start" type="button" part="button primary" disabled data-t="start"></button>
      <button id="stop" type="button" part="button secondary" disabled data-t="stop"></button>
      <button id="resume" type="button" part="button secondary" hidden data-t="check_what_arrived"></button>
    </div>
    <p id="take-status" role="status"></p>
  </section>
  <section id="result" part="result" aria-labelledby="result-title" hidden>
    <h3 id="result-title" data-t="result_title"></h3>
    <p id="verdict" part="verdict" tabindex="-1"></p>
    <svg id="timeline"></svg>
    <ul id="findings" class="findings" part="findings"></ul>
    <p id="files" class="muted"></p>
    <div class="buttons">
      <button id="again" type="button" part="button secondary" data-t="again"></button>
      <button id="submit" type="button" part="button primary" hidden data-t="submit"></button>
      <button id="report" type="button" part="button secondary" data-t="report"></button>
    </div>
    <p id="submit-status" role="status"></p>
  </section>
</div>`;

const RECORDER_TYPES = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm",
  "video/mp4;codecs=avc1.42E01E,mp4a.40.2", "video/mp4"];  // iOS Safari records MP4 (H.264/AAC) only
const HINTS = [["face.head_in_frame", "hint_head"], ["face.looking", "hint_look"], ["face.lighting", "hint_light"],
  ["face.sharpness", "hint_sharp"]];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Refused extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export class PreflightCapture extends HTMLElement {
  static get observedAttributes() { return ["lang"]; }

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).innerHTML = TEMPLATE;
    this.strings = this.strings || {};  // a product's own strings, over the catalog's (kept if set before upgrade)
    this._catalog = {};
    this._s = { seq: 0, sentBytes: 0, phase: "framing", guiding: false, known: new Set(), delay: 200 };
  }

  $(id) { return this.shadowRoot.getElementById(id); }

  get server() { return (this.getAttribute("server") || HERE.href.replace(/v1\/$/, "")).replace(/\/?$/, "/"); }
  get token() { return this.getAttribute("token") || ""; }
  url(path) { return new URL(path.replace(/^\//, ""), this.server).href; }

  t(key, vars = {}) {
    const text = this.strings[key] ?? this._catalog[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  }

  connectedCallback() {
    if (this._started) return;
    this._started = true;
    this.$("start").addEventListener("click", () => this.startTake());
    this.$("stop").addEventListener("click", () => this.stopTake());
    this.$("room").addEventListener("click", () => this.measureRoomFromClick());
    this.$("again").addEventListener("click", () => { this.$("result").hidden = true; this.$("start").focus(); });
    this.$("submit").addEventListener("click", () => this.submitTake());
    this.$("report").addEventListener("click", () => this.openReport());
    this.$("resume").addEventListener("click", () => this.finishTake());
    this.$("handoff-button").addEventListener("click", () => this.showHandoff());
    this.setUp().catch((err) => this.fail(err));
  }

  attributeChangedCallback(name, old, value) {
    if (name === "lang" && this._started && old !== value) this.loadStrings().then(() => this.translate());
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  fail(err) {
    const reason = err instanceof Refused ? (err.status === 401 ? "token" : "refused")
      : err.name === "NotAllowedError" || err.name === "NotFoundError" ? "camera" : "unreachable";
    const message = reason === "unreachable" ? this.t("unreachable") : err.message;
    const alert = this.$("alert");
    alert.hidden = false;
    alert.textContent = reason === "camera" ? this.t("camera_denied", { error: message })
      : this.t("refused", { error: message });
    this.$("start").disabled = true;
    this._s.guiding = false;
    this.emit("preflight-error", { reason, status: err.status || null, message });
  }

  // --- the server ----------------------------------------------------------------------------------

  async api(path, options = {}) {
    const headers = { ...(options.headers || {}), authorization: `Bearer ${this.token}` };
    const reply = await fetch(this.url(path), { ...options, headers, credentials: "omit", referrerPolicy: "no-referrer" });
    const body = await reply.json().catch(() => ({}));
    if (!reply.ok) throw new Refused(reply.status, body.error || `HTTP ${reply.status}`);
    return body;
  }

  async loadStrings() {
    const lang = (this.getAttribute("lang") || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
    let reply = await fetch(this.url(`v1/capture/i18n/${lang}.json`), { credentials: "omit" });
    if (!reply.ok) reply = await fetch(this.url("v1/capture/i18n/en.json"), { credentials: "omit" });
    this._catalog = await reply.json();
  }

  translate() {
    for (const node of this.shadowRoot.querySelectorAll("[data-t]")) node.textContent = this.t(node.dataset.t, this._vars);
    this.$("meter").setAttribute("aria-label", this.t("sound_level"));
    this.$("script-text").setAttribute("aria-label", this.t("script_label"));
    this.$("timeline").setAttribute("aria-label", this.t("timeline"));
    this.$("qr").setAttribute("aria-label", this.t("handoff_label"));
    if (this._s.config) this.showPlan();
  }

  // --- 1. set-up -----------------------------------------------------------------------------------

  async setUp() {
    this._vars = { host: new URL(this.server).host };
    await this.loadStrings();
    this.translate();
    this.$("camera-status").textContent = this.t("camera_asking");
    this.$("script-text").value = this.t("script");
    const s = this._s;
    const rules = this.getAttribute("rules");  // without a session (preflight record): the page may choose
    s.config = await this.api(`v1/capture/config${rules ? `?rules=${encodeURIComponent(rules)}` : ""}`);
    if (!s.config.session) {  // a rehearsal's durations, from the page (a session's come from its backend)
      const speak = Number(this.getAttribute("speak-s")), listen = Number(this.getAttribute("listen-s"));
      if (speak > 0) Object.assign(s.config, { speak_s: speak, rehearsal: true });
      if (listen > 0) s.config.listen_s = listen;
    }
    this.showPlan();
    await this.resumeStored();
    const portrait = matchMedia("(orientation: portrait)").matches;
    const [w, h] = portrait ? [1080, 1920] : [1920, 1080];
    s.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: w }, height: { ideal: h }, frameRate: { ideal: 30 } },
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const video = this.$("camera");
    video.srcObject = s.stream;
    await new Promise((resolve) => { if (video.videoWidth) resolve(); else video.onloadedmetadata = resolve; });
    this.fitViewer();
    video.addEventListener("resize", () => this.fitViewer());
    const camera = this.cameraChecks();
    this.$("room").disabled = false;  // the sound starts from the user's click: before one, browsers start it suspended
    this.$("start").disabled = false;
    if (s.config.session && !matchMedia("(pointer: coarse)").matches) this.$("handoff").hidden = false;
    if (s.config.session) this.followSession();
    s.guiding = true;
    this.guideLoop();
    this.emit("preflight-ready", { rules: s.config.rules, camera });
  }

  showPlan() {
    const c = this._s.config;
    const plan = this.t(c.rehearsal ? "plan_rehearsal" : "plan", { speak: c.speak_s, listen: c.listen_s, rules: c.rules });
    this.$("take-plan").textContent = plan;
  }

  // the preview keeps the camera's own shape: portrait on a phone held upright, landscape on a laptop
  fitViewer() {
    const video = this.$("camera");
    if (!video.videoWidth) return;
    this.$("viewer").style.setProperty("--ratio", String(video.videoWidth / video.videoHeight));
    this.$("viewer").classList.toggle("portrait", video.videoHeight > video.videoWidth);
  }

  cameraChecks() {
    const c = this._s.config;
    const settings = this._s.stream.getVideoTracks()[0].getSettings();
    const video = this.$("camera");
    const width = video.videoWidth || settings.width || 0, height = video.videoHeight || settings.height || 0;
    const fps = settings.frameRate > 0 ? settings.frameRate : null;  // not reported: unknown, never 0
    const list = this.$("setup-checks");
    list.textContent = "";
    const fpsText = fps === null ? this.t("fps_unknown") : this.t("fps_value", { fps: Math.round(fps) });
    this.$("camera-status").textContent = this.t("camera_info", { width, height, fps: fpsText });
    const short = Math.min(width, height);
    if (c.min_short_side !== null) {
      const ok = short >= c.min_short_side;
      this.item(list, ok ? "ok" : "bad", this.t(ok ? "res_ok" : "res_bad", { width, height, min: c.min_short_side }));
    }
    if (c.min_fps !== null) {
      if (fps === null) this.item(list, "warn", this.t("fps_unreported"));
      else this.item(list, fps >= c.min_fps ? "ok" : "bad",
        this.t(fps >= c.min_fps ? "fps_ok" : "fps_bad", { fps: Math.round(fps), min: c.min_fps }));
    }
    return { width, height, fps };
  }

  item(list, cls, text) {
    const li = document.createElement("li");
    li.className = cls;
    li.textContent = text;
    list.appendChild(li);
    return li;
  }

  // --- sound: level meter, clipping, the room's noise floor -----------------------------------------

  // Made and resumed in the user's click: before a gesture a browser starts an AudioContext suspended, and a
  // suspended one reads silence (a noisy room would pass as quiet).
  async measureRoomFromClick() {
    if (!this._s.audio) this.startSound();
    await this._s.audio.context.resume();
    this.measureRoom();
  }

  startSound() {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(this._s.stream).connect(analyser);
    this._s.audio = { context, analyser, data: new Float32Array(analyser.fftSize) };
    const draw = () => {
      if (!this.isConnected) return;
      const { rms, peak } = this.level();
      const db = 20 * Math.log10(Math.max(rms, 1e-6));
      const bar = this.$("meter-bar");
      bar.style.width = `${Math.max(0, Math.min(100, (db + 60) / 60 * 100))}%`;
      bar.classList.toggle("clip", peak >= 0.99);
      this.$("meter").setAttribute("aria-valuenow", db.toFixed(0));
      this.$("meter-text").textContent = peak >= 0.99 ? this.t("too_loud") : `${db.toFixed(0)} dBFS`;
      requestAnimationFrame(draw);
    };
    draw();
  }

  level() {
    const { analyser, data } = this._s.audio;
    analyser.getFloatTimeDomainData(data);
    let sum = 0, peak = 0;
    for (const v of data) { sum += v * v; peak = Math.max(peak, Math.abs(v)); }
    return { rms: Math.sqrt(sum / data.length), peak };
  }

  measureRoom() {
    const status = this.$("room-status");
    status.textContent = this.t("room_measuring");
    const levels = [], started = performance.now();
    const tick = setInterval(() => {
      levels.push(20 * Math.log10(Math.max(this.level().rms, 1e-6)));
      if (performance.now() - started < 3000) return;
      clearInterval(tick);
      levels.sort((a, b) => a - b);
      const floor = levels[Math.floor(levels.length * 0.1)].toFixed(0);
      const limit = this._s.config.max_noise_dbfs;
      if (limit === null) { status.textContent = ""; return; }
      const quiet = Number(floor) <= limit;
      status.textContent = this.t(quiet ? "room_quiet" : "room_noisy", { floor, limit });
      status.className = quiet ? "ok" : "bad";
    }, 100);
  }

  // --- 2. live guidance: one frame at a time, slower when the server sheds load -----------------------

  async guideLoop() {
    const canvas = document.createElement("canvas");
    this._s.stream_id = crypto.getRandomValues(new Uint32Array(2)).join("");
    this._s.follow = null;  // the last answer's follow state: any server node takes the next frame from there
    while (this._s.guiding && this.isConnected) {
      const started = performance.now();
      try {
        await this.guideOnce(canvas);
        this._s.delay = 200;
      } catch (err) {
        if (err.status === 429) {
          this._s.delay = Math.min(1000, this._s.delay * 2);  // the server sheds load: ask less often
          this.showHints([["warn", this.t("guidance_busy")]]);
        } else if (err.status === 401 || err.status === 403) {
          return this.fail(err);
        } else {
          this.showHints([["bad", this.t("guidance_paused", { error: err.message })]]);
        }
      }
      await sleep(Math.max(50, this._s.delay - (performance.now() - started)));
    }
  }

  async guideOnce(canvas) {
    const video = this.$("camera");
    if (!video.videoWidth) return;
    // the analysis's own pixel budget (640x360) whatever the shape: 640x360 landscape, 360x640 portrait
    const scale = Math.min(1, Math.sqrt(640 * 360 / (video.videoWidth * video.videoHeight)));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const frame = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.75));
    const query = `rules=${encodeURIComponent(this._s.config.rules)}&stream=${this._s.stream_id}`;
    const headers = { "content-type": "image/jpeg" };
    if (this._s.follow) headers["x-preflight-follow"] = this._s.follow;
    const found = await this.api(`v1/guidance?${query}`, { method: "POST", body: frame, headers });
    this._s.follow = found.follow || null;
    this.drawOverlay(found);
    const hints = this.hints(found);
    this.showHints(hints);
    this.emit("preflight-guidance", { faces: found.faces, findings: found.findings, hints: hints.map((h) => h[2]) });
  }

  hints(found) {
    const out = [], c = this._s.config;
    const failing = Object.fromEntries(found.findings.filter((f) => f.outcome === "fail").map((f) => [f.rule, f]));
    const face = found.faces[0];
    const add = (key) => out.push(["bad", this.t(key), key]);
    if (failing["face.count"]) add(found.faces.length === 0 ? "hint_no_face" : "hint_one_face");
    if (failing["face.size"] && face) add(face.h < c.face_min_height ? "hint_closer" : "hint_back");
    if (failing["face.centered"] && face) add(face.x + face.w / 2 < 0.5 ? "hint_left" : "hint_right");
    for (const [rule, key] of HINTS) if (failing[rule]) add(key);
    if (this._s.phase === "listening" && found.lips_closed && found.lips_closed.outcome === "fail") add("hint_lips");
    if (!out.length) out.push(["ok", this.t(this._s.phase === "listening" ? "hint_good_listen" : "hint_good"), "hint_good"]);
    // a hint, never an error: a phone held sideways records a smaller face
    if (matchMedia("(pointer: coarse)").matches && found.width > found.height) {
      out.push(["warn", this.t("hint_upright"), "hint_upright"]);
    }
    return out;
  }

  showHints(list) {
    const ul = this.$("hints");
    const text = list.map((h) => h[1]).join("|");
    if (ul.dataset.text === text) return;  // unchanged: screen readers do not hear it again
    ul.dataset.text = text;
    ul.textContent = "";
    for (const [cls, words] of list) this.item(ul, cls, words);
  }

  drawOverlay(found) {
    const overlay = this.$("overlay"), video = this.$("camera"), c = this._s.config;
    overlay.width = overlay.clientWidth;
    overlay.height = overlay.clientHeight;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    const scale = Math.min(overlay.width / video.videoWidth, overlay.height / video.videoHeight);
    const w = video.videoWidth * scale, h = video.videoHeight * scale;
    const x0 = (overlay.width - w) / 2, y0 = (overlay.height - h) / 2;
    if (c.face_min_height !== null && c.face_max_height !== null) {
      const target = h * (c.face_min_height + c.face_max_height) / 2;  // the middle of the allowed window
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

  // --- 3. the take: chunks in order, each retried with backoff until the server has it ------------------

  storageKey() { return `preflight-take:${this.token.slice(-16)}`; }

  async sendChunk(seq, blob) {
    let delay = 500;
    const deadline = performance.now() + 120000;  // a server restarting, a phone between networks
    while (performance.now() < deadline) {
      try {
        const reply = await fetch(this.url(`v1/takes/${this._s.take.id}/chunks?seq=${seq}`), {
          method: "POST", body: blob, headers: { authorization: `Bearer ${this.token}` }, credentials: "omit" });
        const body = await reply.json().catch(() => ({}));
        if (reply.ok || (reply.status === 409 && body.next_seq > seq)) {  // kept (a repeat: kept before)
          this._s.sentBytes += blob.size;
          this.dataset.sentBytes = String(this._s.sentBytes);
          return true;
        }
        if (reply.status < 500 && reply.status !== 429) return false;
      } catch (err) {
        // the request did not complete: sent again below
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 8000);
    }
    return false;
  }

  async startTake() {
    const s = this._s;
    this.$("start").disabled = true;
    this.$("result").hidden = true;
    this.$("resume").hidden = true;
    const mime = RECORDER_TYPES.find((type) => window.MediaRecorder && MediaRecorder.isTypeSupported(type)) || "";
    try {
      s.take = await this.api("v1/takes", { method: "POST", headers: { "content-type": "application/json" },
                                           body: JSON.stringify({ mime }) });
    } catch (err) {
      this.$("start").disabled = false;
      return this.fail(err);
    }
    sessionStorage.setItem(this.storageKey(), s.take.id);
    s.known.add(s.take.id);
    Object.assign(s, { seq: 0, sentBytes: 0, lost: false, uploads: Promise.resolve() });
    s.recorder = new MediaRecorder(s.stream, mime ? { mimeType: mime, videoBitsPerSecond: 8_000_000 } : {});
    s.recorder.ondataavailable = (event) => {
      if (!event.data.size) return;
      const seq = s.seq++;
      s.uploads = s.uploads.then(() => this.sendChunk(seq, event.data)).then((sent) => { if (!sent) s.lost = true; });
    };
    s.recorder.onstop = () => this.finishTake();
    s.recorder.start(1000);
    this.$("stop").disabled = false;
    this.$("take-status").textContent = this.t("recording");
    this.runPrompter();
  }

  runPrompter() {
    const s = this._s, c = s.config;
    this.$("prompter").hidden = false;
    const started = performance.now(), total = c.speak_s + c.listen_s;
    s.phase = "speaking";
    this.$("phase").textContent = this.t("phase_speak");
    this.$("script").textContent = this.$("script-text").value;
    s.timer = setInterval(() => {
      const t = (performance.now() - started) / 1000;
      if (t < c.speak_s) {
        this.$("countdown").textContent = this.t("seconds", { n: Math.ceil(c.speak_s - t) });
        const script = this.$("script");
        script.scrollTop = (script.scrollHeight - script.clientHeight) * (t / c.speak_s);
      } else if (t < total) {
        if (s.phase !== "listening") {
          s.phase = "listening";
          this.$("phase").textContent = this.t("phase_listen");
          this.$("script").textContent = this.t("listen_script");
        }
        this.$("countdown").textContent = this.t("seconds", { n: Math.ceil(total - t) });
      } else {
        this.stopTake();
      }
    }, 200);
  }

  stopTake() {
    clearInterval(this._s.timer);
    this.$("stop").disabled = true;
    this.$("prompter").hidden = true;
    this._s.phase = "framing";
    if (this._s.recorder && this._s.recorder.state !== "inactive") this._s.recorder.stop();
  }

  async finishTake() {
    const s = this._s;
    this.$("resume").hidden = true;
    this.$("take-status").textContent = this.t("saving");
    await s.uploads;
    this.$("take-status").textContent = this.t("checking");
    try {
      await this.api(`v1/takes/${s.take.id}/finish`, { method: "POST" });
      const done = await this.untilChecked(s.take.id);
      this.showResult(done, false);
      this.$("take-status").textContent = s.lost ? this.t("lost") : "";
    } catch (err) {
      this.$("take-status").textContent = this.t("check_failed", { error: err.message });
    }
    this.$("start").disabled = false;
  }

  async untilChecked(takeId) {
    for (let failures = 0; ;) {
      try {
        const take = await this.api(`v1/takes/${takeId}`);
        if (take.status === "done") return take;
        failures = 0;
      } catch (err) {
        if (err instanceof Refused || ++failures > 60) throw err;  // else: the server is restarting
      }
      await sleep(1000);
    }
  }

  // after a reload within the session: the take this tab was making is picked up where the server has it
  async resumeStored() {
    const takeId = sessionStorage.getItem(this.storageKey());
    if (!takeId) return;
    let take;
    try { take = await this.api(`v1/takes/${takeId}`); } catch (err) { return; }
    this._s.take = take;
    this._s.known.add(take.id);
    this._s.uploads = Promise.resolve();
    if (take.status === "done") this.showResult(take, false);
    else if (take.status === "checking") this.finishTake();
    else if (take.bytes > 0) {
      this.$("take-status").textContent = this.t("resumed", { bytes: take.bytes });
      this.$("resume").hidden = false;
    }
  }

  // --- 4. the result, and takes made on another device -----------------------------------------------

  showResult(take, elsewhere) {
    this.$("result").hidden = false;
    const verdict = this.$("verdict");
    verdict.className = take.verdict;
    const error = (take.report && take.report.results[0] && take.report.results[0].error) || take.note || "";
    verdict.textContent = { pass: this.t("verdict_pass"), fail: this.t("verdict_fail") }[take.verdict]
      || this.t("verdict_error", { error });
    const list = this.$("findings");
    list.textContent = "";
    const failing = (take.findings || []).filter((f) => f.outcome === "fail");
    for (const f of failing) {
      const li = this.item(list, f.severity === "error" ? "bad" : "warn", "");
      const rule = document.createElement("span");
      rule.className = "rule";
      rule.textContent = `${f.rule} `;
      li.append(rule, document.createTextNode(f.message));
      const fix = document.createElement("span");
      fix.className = "fix";
      fix.textContent = f.fix;
      li.appendChild(fix);
    }
    if (!failing.length) this.item(list, "ok", this.t("all_pass"));
    this.drawTimeline(take.report ? take.report.results[0] : null, failing);
    const files = [take.recording, take.fixed, take.report_json].filter(Boolean).join(", ");
    this.$("files").textContent = elsewhere ? this.t("other_device") : this.t("saved", { files });
    this._s.shown = take.id;
    this.$("submit").hidden = !this._s.config.submit;
    verdict.focus();
    this.emit("preflight-take", { take_id: take.id, verdict: take.verdict, findings: take.findings || [],
                                  elsewhere, submitted: take.submitted || null });
  }

  drawTimeline(result, failing) {
    const svg = this.$("timeline");
    svg.textContent = "";
    const facts = (result && result.facts) || {};
    const duration = facts.duration_s || facts.video_duration_s;
    const spans = failing.filter((f) => f.spans && f.spans.length);
    svg.classList.toggle("empty", !duration || !spans.length);
    if (!duration || !spans.length) return;
    const row = 18, width = svg.clientWidth || 600, label = 170, ns = "http://www.w3.org/2000/svg";
    svg.setAttribute("height", String(spans.length * row + 20));
    const add = (tag, attrs, text) => {
      const node = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
      if (text) node.textContent = text;
      svg.appendChild(node);
    };
    spans.forEach((f, i) => {
      add("text", { x: 0, y: i * row + 13 }, f.rule);
      add("rect", { x: label, y: i * row + 3, height: 12, width: width - label, class: "track" });
      for (const s of f.spans) {
        add("rect", { x: label + (width - label) * s.start_s / duration, y: i * row + 3, height: 12,
                      width: Math.max(2, (width - label) * (s.end_s - s.start_s) / duration), class: f.severity });
      }
    });
    add("text", { x: width - 60, y: spans.length * row + 16 }, `${duration.toFixed(1)} s`);
  }

  async submitTake() {
    this.$("submit").disabled = true;
    const status = this.$("submit-status");
    status.textContent = this.t("submitting");
    try {
      const outcome = await this.api(`v1/takes/${this._s.shown}/submit`, { method: "POST" });
      status.textContent = outcome.face_id ? this.t("submitted", { face: outcome.face_id, status: outcome.status })
        : this.t("not_submitted", { error: outcome.message });
    } catch (err) {
      status.textContent = this.t("not_submitted", { error: err.message });
    }
    this.$("submit").disabled = false;
  }

  // the report needs the token, which a plain link cannot send: fetched, then shown from a blob
  async openReport() {
    const reply = await fetch(this.url(`v1/takes/${this._s.shown}/report.html`),
                              { headers: { authorization: `Bearer ${this.token}` }, credentials: "omit" });
    if (reply.ok) window.open(URL.createObjectURL(await reply.blob()), "_blank", "noopener");
  }

  async showHandoff() {
    const { url, rows } = await this.api(`v1/capture-sessions/${this._s.config.session}/qr`);
    const quiet = 4, cell = 6, n = rows.length + 2 * quiet;
    const canvas = this.$("qr");
    canvas.width = canvas.height = n * cell;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#000";
    rows.forEach((row, y) => [...row].forEach((bit, x) => {
      if (bit === "1") ctx.fillRect((x + quiet) * cell, (y + quiet) * cell, cell, cell);
    }));
    canvas.dataset.url = url.split("#")[0];
    this.$("handoff-box").hidden = false;
  }

  // a take made on another device with this session (the phone that scanned the code) shows up here
  async followSession() {
    const s = this._s;
    while (this.isConnected) {
      await sleep(2000);
      let session;
      try {
        session = await this.api(`v1/capture-sessions/${s.config.session}`);
      } catch (err) {
        if (err instanceof Refused) return;  // expired or refused: nothing more will come (the network: try again)
        continue;
      }
      for (const take of session.takes) {
        if (s.known.has(take.id) || take.status !== "done") continue;
        s.known.add(take.id);
        this.$("handoff-status").textContent = "";
        this.showResult(take, true);
      }
    }
  }
}

if (!customElements.get("preflight-capture")) customElements.define("preflight-capture", PreflightCapture);
