// <preflight-capture>'s logic that needs no page (logic.js): which recorder type, which hints for a guidance
// answer, a string from the catalog, the language, when a chunk is kept or sent again, the room's noise floor.
// Pure functions, unit-tested with Node's own test runner (tests/js/logic.test.mjs).

/**
 * @typedef {{rule: string, outcome: string, severity?: string|null, message?: string|null, fix?: string|null}} Finding
 * @typedef {{x: number, y: number, w: number, h: number}} Box
 * @typedef {{findings: Finding[], faces: Box[], lips_closed?: Finding|null, width?: number, height?: number}} Answer
 * @typedef {{face_min_height: number|null, face_max_height: number|null}} FaceWindow
 * @typedef {[string, string]} Hint a list item's class (ok, warn, bad) and its catalog key
 */

/** MediaRecorder types by preference: WebM where the browser records it, else MP4 (iOS Safari: H.264/AAC only). */
export const RECORDER_TYPES = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm",
  "video/mp4;codecs=avc1.42E01E,mp4a.40.2", "video/mp4"];

/** @type {Array<[string, string]>} a failing rule and the hint that fixes it */
const RULE_HINTS = [["face.head_in_frame", "hint_head"], ["face.looking", "hint_look"],
  ["face.lighting", "hint_light"], ["face.sharpness", "hint_sharp"]];

/**
 * The first recorder type the browser supports, or "" (its own default).
 * @param {(type: string) => boolean} supported
 * @returns {string}
 */
export function recorderType(supported) {
  return RECORDER_TYPES.find((type) => supported(type)) || "";
}

/**
 * The hints for one guidance answer, the most useful first; one "good" hint when nothing fails.
 * @param {Answer} found
 * @param {FaceWindow} config
 * @param {string} phase framing, speaking or listening
 * @param {boolean} phone a coarse pointer: a sideways picture gets a hint
 * @returns {Hint[]}
 */
export function hintKeys(found, config, phase, phone) {
  /** @type {Hint[]} */
  const out = [];
  const failing = Object.fromEntries(found.findings.filter((f) => f.outcome === "fail").map((f) => [f.rule, f]));
  const face = found.faces[0];
  const add = (/** @type {string} */ key) => out.push(["bad", key]);
  if (failing["face.count"]) add(found.faces.length === 0 ? "hint_no_face" : "hint_one_face");
  if (failing["face.size"] && face) add(face.h < (config.face_min_height ?? 0) ? "hint_closer" : "hint_back");
  if (failing["face.centered"] && face) add(face.x + face.w / 2 < 0.5 ? "hint_left" : "hint_right");
  for (const [rule, key] of RULE_HINTS) if (failing[rule]) add(key);
  if (phase === "listening" && found.lips_closed && found.lips_closed.outcome === "fail") add("hint_lips");
  if (!out.length) out.push(["ok", phase === "listening" ? "hint_good_listen" : "hint_good"]);
  if (phone && (found.width ?? 0) > (found.height ?? 0)) out.push(["warn", "hint_upright"]);  // a hint, never an error
  return out;
}

/**
 * A catalog string with its {placeholders} filled; numbers written for the language.
 * @param {string} text
 * @param {Record<string, unknown>} vars
 * @param {string} lang
 * @returns {string}
 */
export function fill(text, vars, lang) {
  const numbers = new Intl.NumberFormat(lang || "en", { maximumFractionDigits: 1, useGrouping: false });
  const shown = (/** @type {unknown} */ value) => (typeof value === "number" ? numbers.format(value) : String(value));
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? shown(vars[name]) : whole));
}

/**
 * The catalog to ask for: the language's primary subtag (pt-PT and pt-BR: pt), lower case; English by default.
 * @param {string|null|undefined} given the element's lang, or the page's
 * @returns {string}
 */
export function primaryLanguage(given) {
  const primary = String(given || "").split("-")[0].toLowerCase();
  return /^[a-z]{2,3}$/.test(primary) ? primary : "en";
}

/**
 * Whether the server has chunk `seq`: kept now, or kept before (a 409 whose next_seq is past it).
 * @param {number} status
 * @param {{next_seq?: number}} body
 * @param {number} seq
 * @returns {boolean}
 */
export function chunkKept(status, body, seq) {
  return (status >= 200 && status < 300) || (status === 409 && typeof body.next_seq === "number" && body.next_seq > seq);
}

/**
 * Whether a chunk that was not kept is sent again: the network failed (null), the server is restarting or busy.
 * @param {number|null} status
 * @returns {boolean}
 */
export function sendAgain(status) {
  return status === null || status >= 500 || status === 429;
}

/**
 * The wait before the next attempt: doubled each time, at most 8 s.
 * @param {number} delayMs
 * @returns {number}
 */
export function nextDelay(delayMs) {
  return Math.min(delayMs * 2, 8000);
}

/**
 * The room's noise floor in dBFS: the quietest tenth of its levels.
 * @param {number[]} levels
 * @returns {number}
 */
export function noiseFloor(levels) {
  const sorted = [...levels].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length * 0.1)] ?? -100);
}

/**
 * A level in dBFS from a block of samples: its RMS, and its peak (1.0: the sound clips).
 * @param {ArrayLike<number>} samples
 * @returns {{db: number, peak: number}}
 */
export function levelOf(samples) {
  let sum = 0, peak = 0;
  for (let i = 0; i < samples.length; i++) {
    sum += samples[i] * samples[i];
    peak = Math.max(peak, Math.abs(samples[i]));
  }
  const rms = samples.length ? Math.sqrt(sum / samples.length) : 0;
  return { db: 20 * Math.log10(Math.max(rms, 1e-6)), peak };
}
