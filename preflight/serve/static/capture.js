// <preflight-capture>: a guided take of a Tavus training video, embedded in any page.
//
//   <script type="module" src="https://preflight.example.com/v1/capture.js"></script>
//   <preflight-capture server="https://preflight.example.com" token="pfcs_…" lang="de"></preflight-capture>
//
// ES modules, no build step, nothing loaded from another host, no inline script or style (a strict CSP
// holds: script-src and style-src the preflight server, connect-src too). Its controls are real buttons in an
// open shadow root; it is themed by CSS custom properties (--preflight-accent, --preflight-ok, --preflight-bad,
// --preflight-radius, --preflight-font) and ::part(). Events (bubbling, composed): preflight-ready,
// preflight-guidance, preflight-take {take_id, verdict, findings}, preflight-error {reason, message}.
// Strings come from /v1/capture/i18n/{lang}.json; `element.strings = {...}` overrides any of them.
// This module is the element, its set-up and its strings; its parts sit in capture/: the markup
// (template.js), the logic that needs no page (logic.js), the server (server.js), the sound (sound.js), the
// live guidance (guidance.js), the take (take.js), the pictures (drawing.js) and the result (result.js).

import { drawQr } from "./capture/drawing.js";
import * as guidance from "./capture/guidance.js";
import { fill, primaryLanguage } from "./capture/logic.js";
import { followSession, openReport, submitTake } from "./capture/result.js";
import { Refused, call } from "./capture/server.js";
import { Sound } from "./capture/sound.js";
import * as take from "./capture/take.js";
import { template } from "./capture/template.js";

const HERE = new URL(".", import.meta.url);  // …/v1/: the server (and any path prefix) this module came from

export class PreflightCapture extends HTMLElement {
  static get observedAttributes() { return ["lang"]; }

  constructor() {
    super();
    this.attachShadow({ mode: "open" }).innerHTML = template(new URL("capture.css", HERE).href);
    /** @type {Record<string, string>} a product's own strings, over the catalog's (kept if set before upgrade) */
    this.strings = this.strings || {};
    /** @type {Record<string, string>} */
    this._catalog = {};
    this._lang = "en";
    this._started = false;
    /** @type {Record<string, unknown>} */
    this._vars = {};
    /** @type {any} the element's state: the config, the stream, the take, the sound */
    this._s = { seq: 0, sentBytes: 0, phase: "framing", guiding: false, known: new Set(), delay: 200 };
  }

  /** @param {string} id @returns {any} an element of the shadow root: a button, the video, a canvas… */
  $(id) { return /** @type {any} */ (this.shadowRoot?.getElementById(id)); }

  get server() { return (this.getAttribute("server") || HERE.href.replace(/v1\/$/, "")).replace(/\/?$/, "/"); }
  get token() { return this.getAttribute("token") || ""; }
  /** @param {string} path */
  url(path) { return new URL(path.replace(/^\//, ""), this.server).href; }

  /** @param {string} key @param {Record<string, unknown>} [vars] */
  t(key, vars = {}) { return fill(this.strings[key] ?? this._catalog[key] ?? key, vars, this._lang); }

  connectedCallback() {
    if (this._started) return;
    this._started = true;
    this.$("start").addEventListener("click", () => take.start(this));
    this.$("stop").addEventListener("click", () => take.stop(this));
    this.$("room").addEventListener("click", () => this.measureRoom());
    this.$("again").addEventListener("click", () => { this.$("result").hidden = true; this.$("start").focus(); });
    this.$("submit").addEventListener("click", () => submitTake(this));
    this.$("report").addEventListener("click", () => openReport(this));
    this.$("resume").addEventListener("click", () => take.finish(this));
    this.$("handoff-button").addEventListener("click", () => this.showHandoff());
    this.setUp().catch((err) => this.fail(err));
  }

  /** @param {string} name @param {string|null} old @param {string|null} value */
  attributeChangedCallback(name, old, value) {
    if (name === "lang" && this._started && old !== value) this.loadStrings().then(() => this.applyStrings());
  }

  /** @param {string} type @param {unknown} detail */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  /** @param {any} err */
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

  /** @param {string} path @param {any} [options] */
  api(path, options = {}) { return call(this.url(path), this.token, options); }

  async loadStrings() {
    const lang = primaryLanguage(this.getAttribute("lang") || document.documentElement.lang);
    let reply = await fetch(this.url(`v1/capture/i18n/${lang}.json`), { credentials: "omit" });
    this._lang = reply.ok ? lang : "en";  // a language with no catalog: English
    if (!reply.ok) reply = await fetch(this.url("v1/capture/i18n/en.json"), { credentials: "omit" });
    this._catalog = await reply.json();
  }

  applyStrings() {
    for (const node of /** @type {NodeListOf<HTMLElement>} */ (this.shadowRoot?.querySelectorAll("[data-t]") ?? [])) {
      node.textContent = this.t(node.dataset.t || "", this._vars);
    }
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
    this.applyStrings();
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
    await take.resume(this);
    const portrait = matchMedia("(orientation: portrait)").matches;
    const [w, h] = portrait ? [1080, 1920] : [1920, 1080];
    s.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: w }, height: { ideal: h }, frameRate: { ideal: 30 } },
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const video = this.$("camera");
    // the preview shows the picture alone: with the sound's track too, WebKit held the preview back until
    // that track gave samples (a stand-in's suspended sound: the set-up waited for ever, 11 page loads of 16)
    video.srcObject = new MediaStream(s.stream.getVideoTracks());
    await new Promise((resolve) => { if (video.videoWidth) resolve(null); else video.onloadedmetadata = resolve; });
    this.fitViewer();
    video.addEventListener("resize", () => this.fitViewer());
    const camera = this.cameraChecks();
    this.$("room").disabled = false;  // the sound starts from the user's click: before one, browsers start it suspended
    this.$("start").disabled = false;
    if (s.config.session && !matchMedia("(pointer: coarse)").matches) this.$("handoff").hidden = false;
    if (s.config.session) followSession(this);
    s.guiding = true;
    guidance.loop(this);
    this.emit("preflight-ready", { rules: s.config.rules, camera });
  }

  showPlan() {
    const c = this._s.config;
    this.$("take-plan").textContent = this.t(c.rehearsal ? "plan_rehearsal" : "plan",
                                             { speak: c.speak_s, listen: c.listen_s, rules: c.rules });
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
    if (c.min_short_side !== null) {
      const ok = Math.min(width, height) >= c.min_short_side;
      this.item(list, ok ? "ok" : "bad", this.t(ok ? "res_ok" : "res_bad", { width, height, min: c.min_short_side }));
    }
    if (c.min_fps !== null) {
      if (fps === null) this.item(list, "warn", this.t("fps_unreported"));
      else this.item(list, fps >= c.min_fps ? "ok" : "bad",
        this.t(fps >= c.min_fps ? "fps_ok" : "fps_bad", { fps: Math.round(fps), min: c.min_fps }));
    }
    return { width, height, fps };
  }

  /** @param {HTMLElement} list @param {string} cls @param {string} text */
  item(list, cls, text) {
    const li = document.createElement("li");
    li.className = cls;
    li.textContent = text;
    list.appendChild(li);
    return li;
  }

  // the sound starts in the user's click (a browser keeps a page's AudioContext suspended until one)
  async measureRoom() {
    const s = this._s;
    if (!s.audio) {
      s.audio = new Sound(s.stream);
      s.audio.show(this.$("meter"), this.$("meter-bar"), this.$("meter-text"), () => this.isConnected,
                   this.t("too_loud"));
    }
    await s.audio.context.resume();
    const status = this.$("room-status");
    status.textContent = this.t("room_measuring");
    const floor = await s.audio.floor();
    const limit = s.config.max_noise_dbfs;
    if (limit === null) { status.textContent = ""; return; }
    status.textContent = this.t(floor <= limit ? "room_quiet" : "room_noisy", { floor, limit });
    status.className = floor <= limit ? "ok" : "bad";
  }

  async showHandoff() {
    const { url, rows } = await this.api(`v1/capture-sessions/${this._s.config.session}/qr`);
    drawQr(this.$("qr"), rows);
    this.$("qr").dataset.url = url.split("#")[0];
    this.$("handoff-box").hidden = false;
  }
}

if (!customElements.get("preflight-capture")) customElements.define("preflight-capture", PreflightCapture);
