// <preflight-capture>'s live guidance (guidance.js): one camera frame at a time to the server's face rules,
// slower when the server sheds load; the face boxes drawn over the preview, the hints in a polite live
// region (said again only when they change).

import { drawOverlay } from "./drawing.js";
import { hintKeys } from "./logic.js";
import { sleep } from "./server.js";

/** @typedef {import("../capture.js").PreflightCapture} Capture */

/** @param {Capture} host */
export async function loop(host) {
  const canvas = document.createElement("canvas");
  host._s.stream_id = crypto.getRandomValues(new Uint32Array(2)).join("");
  host._s.follow = null;  // the last answer's follow state: any server node takes the next frame from there
  while (host._s.guiding && host.isConnected) {
    const started = performance.now();
    try {
      await once(host, canvas);
      host._s.delay = 200;
    } catch (err) {
      const status = /** @type {any} */ (err).status;
      if (status === 429) {
        host._s.delay = Math.min(1000, host._s.delay * 2);  // the server sheds load: ask less often
        showHints(host, [["warn", host.t("guidance_busy")]]);
      } else if (status === 401 || status === 403) {
        return host.fail(err);
      } else {
        showHints(host, [["bad", host.t("guidance_paused", { error: /** @type {Error} */ (err).message })]]);
      }
    }
    await sleep(Math.max(50, host._s.delay - (performance.now() - started)));
  }
}

/** @param {Capture} host @param {HTMLCanvasElement} canvas */
export async function once(host, canvas) {
  const video = host.$("camera");
  if (!video.videoWidth) return;
  // the analysis's own pixel budget (640x360) whatever the shape: 640x360 landscape, 360x640 portrait
  const scale = Math.min(1, Math.sqrt(640 * 360 / (video.videoWidth * video.videoHeight)));
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d")?.drawImage(video, 0, 0, canvas.width, canvas.height);
  const frame = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.75));
  const query = `rules=${encodeURIComponent(host._s.config.rules)}&stream=${host._s.stream_id}`;
  /** @type {Record<string, string>} */
  const headers = { "content-type": "image/jpeg" };
  if (host._s.follow) headers["x-preflight-follow"] = host._s.follow;
  const found = await host.api(`v1/guidance?${query}`, { method: "POST", body: frame, headers });
  host._s.follow = found.follow || null;
  drawOverlay(host.$("overlay"), host.$("camera"), host._s.config, found.faces);
  const keys = hintKeys(found, host._s.config, host._s.phase, matchMedia("(pointer: coarse)").matches);
  showHints(host, keys.map(([cls, key]) => [cls, host.t(key)]));
  host.emit("preflight-guidance", { faces: found.faces, findings: found.findings, hints: keys.map((k) => k[1]) });
}

/** @param {Capture} host @param {Array<[string, string]>} list the hints: their class and their words */
export function showHints(host, list) {
  const ul = host.$("hints");
  const text = list.map((h) => h[1]).join("|");
  if (ul.dataset.text === text) return;  // unchanged: screen readers do not hear it again
  ul.dataset.text = text;
  ul.textContent = "";
  for (const [cls, words] of list) host.item(ul, cls, words);
}

