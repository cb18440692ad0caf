// <preflight-capture>'s result (result.js): a checked take's verdict, findings and timeline, its submit and
// its full report, and takes made on another device with the same session (the phone that scanned the code).

import { drawTimeline } from "./drawing.js";
import { Refused, sleep } from "./server.js";

/** @typedef {import("../capture.js").PreflightCapture} Capture */

/**
 * A checked take: its verdict (focused, so a screen reader reads it), the failing rules and how to fix
 * each, their spans on the timeline; the preflight-take event.
 * @param {Capture} host
 * @param {any} take as GET /v1/takes/{id} gives it
 * @param {boolean} elsewhere made on another device
 */
export function showResult(host, take, elsewhere) {
  host.$("result").hidden = false;
  const verdict = host.$("verdict");
  verdict.className = take.verdict;
  const error = (take.report && take.report.results[0] && take.report.results[0].error) || take.note || "";
  verdict.textContent = ({ pass: host.t("verdict_pass"), fail: host.t("verdict_fail") })[String(take.verdict)]
    || host.t("verdict_error", { error });
  const list = host.$("findings");
  list.textContent = "";
  const failing = (take.findings || []).filter((/** @type {any} */ f) => f.outcome === "fail");
  for (const f of failing) {
    const li = host.item(list, f.severity === "error" ? "bad" : "warn", "");
    const rule = document.createElement("span");
    rule.className = "rule";
    rule.textContent = `${f.rule} `;
    li.append(rule, document.createTextNode(f.message));
    const fix = document.createElement("span");
    fix.className = "fix";
    fix.textContent = f.fix;
    li.appendChild(fix);
  }
  if (!failing.length) host.item(list, "ok", host.t("all_pass"));
  drawTimeline(/** @type {any} */ (host.$("timeline")), take.report ? take.report.results[0] : null, failing);
  const files = [take.recording, take.fixed, take.report_json].filter(Boolean).join(", ");
  host.$("files").textContent = elsewhere ? host.t("other_device") : host.t("saved", { files });
  host._s.shown = take.id;
  host.$("submit").hidden = !host._s.config.submit;
  verdict.focus();
  host.emit("preflight-take", { take_id: take.id, verdict: take.verdict, findings: take.findings || [],
                                elsewhere, submitted: take.submitted || null });
}

/** @param {Capture} host */
export async function submitTake(host) {
  const button = /** @type {HTMLButtonElement} */ (host.$("submit"));
  button.disabled = true;
  const status = host.$("submit-status");
  status.textContent = host.t("submitting");
  try {
    const outcome = await host.api(`v1/takes/${host._s.shown}/submit`, { method: "POST" });
    status.textContent = outcome.face_id ? host.t("submitted", { face: outcome.face_id, status: outcome.status })
      : host.t("not_submitted", { error: outcome.message });
  } catch (err) {
    status.textContent = host.t("not_submitted", { error: /** @type {Error} */ (err).message });
  }
  button.disabled = false;
}

/**
 * The full report: it needs the token, which a plain link cannot send, so it is fetched and shown from a blob.
 * @param {Capture} host
 */
export async function openReport(host) {
  const reply = await fetch(host.url(`v1/takes/${host._s.shown}/report.html`),
                            { headers: { authorization: `Bearer ${host.token}` }, credentials: "omit" });
  if (reply.ok) window.open(URL.createObjectURL(await reply.blob()), "_blank", "noopener");
}

/**
 * Takes made on another device with this session show up here, until the session ends.
 * @param {Capture} host
 */
export async function followSession(host) {
  const s = host._s;
  while (host.isConnected) {
    await sleep(2000);
    let session;
    try {
      session = await host.api(`v1/capture-sessions/${s.config.session}`);
    } catch (err) {
      if (err instanceof Refused) return;  // expired or refused: nothing more will come (the network: try again)
      continue;
    }
    for (const take of session.takes) {
      if (s.known.has(take.id) || take.status !== "done") continue;
      s.known.add(take.id);
      host.$("handoff-status").textContent = "";
      showResult(host, take, true);
    }
  }
}
