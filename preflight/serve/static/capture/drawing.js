// <preflight-capture>'s pictures (drawing.js): the face boxes and the target over the preview, a take's
// failing spans on its timeline, and a session's QR code.

/**
 * The face boxes (green: the one face; red: any other) and the target the face should fill, over the preview.
 * @param {HTMLCanvasElement} overlay
 * @param {HTMLVideoElement} video
 * @param {{face_min_height: number|null, face_max_height: number|null}} config
 * @param {Array<{x: number, y: number, w: number, h: number}>} faces 0..1 of the frame
 */
export function drawOverlay(overlay, video, config, faces) {
  overlay.width = overlay.clientWidth;
  overlay.height = overlay.clientHeight;
  const ctx = overlay.getContext("2d");
  if (!ctx || !video.videoWidth) return;
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  const scale = Math.min(overlay.width / video.videoWidth, overlay.height / video.videoHeight);
  const w = video.videoWidth * scale, h = video.videoHeight * scale;
  const x0 = (overlay.width - w) / 2, y0 = (overlay.height - h) / 2;
  if (config.face_min_height !== null && config.face_max_height !== null) {
    const target = h * (config.face_min_height + config.face_max_height) / 2;  // the middle of the allowed window
    ctx.setLineDash([8, 6]);
    ctx.strokeStyle = "rgba(255,255,255,.8)";
    ctx.lineWidth = 2;
    ctx.strokeRect(x0 + w / 2 - target * 0.4, y0 + h * 0.38 - target / 2, target * 0.8, target);
    ctx.setLineDash([]);
  }
  faces.forEach((f, i) => {
    ctx.strokeStyle = i === 0 && faces.length === 1 ? "#2da44e" : "#cf222e";
    ctx.lineWidth = 3;
    ctx.strokeRect(x0 + f.x * w, y0 + f.y * h, f.w * w, f.h * h);
  });
}

/**
 * The failing rules' spans on the take's timeline (an SVG of one row per rule); empty without spans.
 * @param {SVGSVGElement} svg
 * @param {{facts?: {duration_s?: number, video_duration_s?: number}}|null} result
 * @param {Array<{rule: string, severity?: string|null, spans?: Array<{start_s: number, end_s: number}>}>} failing
 */
export function drawTimeline(svg, result, failing) {
  svg.textContent = "";
  const facts = (result && result.facts) || {};
  const duration = facts.duration_s || facts.video_duration_s || 0;
  const spans = failing.filter((f) => f.spans && f.spans.length);
  svg.classList.toggle("empty", !duration || !spans.length);
  if (!duration || !spans.length) return;
  const row = 18, width = svg.clientWidth || 600, label = 170, ns = "http://www.w3.org/2000/svg";
  svg.setAttribute("height", String(spans.length * row + 20));
  const add = (/** @type {string} */ tag, /** @type {Record<string, unknown>} */ attrs, /** @type {string} */ text = "") => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text) node.textContent = text;
    svg.appendChild(node);
  };
  spans.forEach((f, i) => {
    add("text", { x: 0, y: i * row + 13 }, f.rule);
    add("rect", { x: label, y: i * row + 3, height: 12, width: width - label, class: "track" });
    for (const s of f.spans || []) {
      add("rect", { x: label + (width - label) * s.start_s / duration, y: i * row + 3, height: 12,
                    width: Math.max(2, (width - label) * (s.end_s - s.start_s) / duration), class: f.severity || "" });
    }
  });
  add("text", { x: width - 60, y: spans.length * row + 16 }, `${duration.toFixed(1)} s`);
}

/**
 * A QR code's modules (rows of "0" and "1") drawn at its own size, with a quiet zone: every module whole.
 * @param {HTMLCanvasElement} canvas
 * @param {string[]} rows
 */
export function drawQr(canvas, rows) {
  const quiet = 4, cell = 6, n = rows.length + 2 * quiet;
  canvas.width = canvas.height = n * cell;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#000";
  rows.forEach((row, y) => [...row].forEach((bit, x) => {
    if (bit === "1") ctx.fillRect((x + quiet) * cell, (y + quiet) * cell, cell, cell);
  }));
}
