// Drives Debian's Firefox ESR over WebDriver BiDi (puppeteer-core, no browser downloaded) through one capture:
// set-up, guidance on the test camera's face, the language switch, axe-core at each step, and a take.
//   node tests/support/engines/firefox.mjs PAGE_URL FACE_FILE AXE_FILE SHOT_DIR
// Prints one JSON line: what the page showed and the events the element sent.
import { readFileSync } from "node:fs";
import puppeteer from "puppeteer-core";

const [url, faceFile, axeFile, shots] = process.argv.slice(2);
const face = `data:image/jpeg;base64,${readFileSync(faceFile).toString("base64")}`;
const fakeMedia = readFileSync(new URL("./fake_media.js", import.meta.url), "utf8");
const axe = readFileSync(axeFile, "utf8");
const shadow = (expression) => `(() => { const ROOT = document.querySelector('preflight-capture')?.shadowRoot; return ROOT ? (${expression}) : null; })()`;

async function until(page, expression, seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await page.evaluate(expression);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not true within ${seconds} s: ${expression}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const event = (kind) => `(window.events || []).filter((e) => e.type === '${kind}').map((e) => e.detail).slice(-1)[0]`;
const accessibility = async (page) => page.evaluate(async () => {
  const r = await window.axe.run(document.querySelector("preflight-capture"), { resultTypes: ["violations"] });
  return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) }));
});

const browser = await puppeteer.launch({
  browser: "firefox", executablePath: process.env.FIREFOX || "/usr/bin/firefox-esr", headless: true,
  protocol: "webDriverBiDi", extraPrefsFirefox: {
    "media.navigator.permission.disabled": true,
    // the sound from Firefox's own fake microphone (the picture stays the stand-in's face)
    "media.navigator.streams.fake": true,
  },
});
const out = { engine: "firefox", version: await browser.version(), axe: {} };
try {
  const page = await browser.newPage();
  out.console = [];
  page.on("console", (message) => { if (out.console.length < 50) out.console.push(`${message.type()}: ${message.text()}`); });
  page.on("pageerror", (error) => out.console.push(`pageerror: ${error}`));
  await page.setViewport({ width: 1280, height: 900 });
  await page.evaluateOnNewDocument(`window.__FACE_URL = ${JSON.stringify(face)}; window.__DEVICE_SOUND = true;\n${fakeMedia}\n${axe}`);
  await page.goto(url);
  out.ready = await until(page, event("preflight-ready"), 60);
  out.guidance = await until(page, `(${event("preflight-guidance")}) && (${event("preflight-guidance")}).faces.length ? ${event("preflight-guidance")} : null`, 60);
  out.axe.setup = await accessibility(page);
  await page.screenshot({ path: `${shots}/capture-firefox.png`, fullPage: true });
  await page.evaluate(() => document.querySelector("preflight-capture").setAttribute("lang", "de"));
  out.german = await until(page, shadow("ROOT.getElementById('start').textContent === 'Aufnahme starten' && ROOT.getElementById('start').textContent"), 20);
  await page.evaluate(() => document.querySelector("preflight-capture").setAttribute("lang", "en"));
  await until(page, shadow("ROOT.getElementById('start').textContent === 'Start recording'"), 20);
  await page.click("preflight-capture >>> #start");  // a real click: the person's gesture
  await until(page, shadow("ROOT.getElementById('prompter').hidden === false"), 30);
  await page.evaluate(() => {
    const r = document.querySelector("preflight-capture")._s.recorder;
    window.__rec = { mime: r.mimeType, state: r.state, sizes: [], errors: [] };
    r.addEventListener("dataavailable", (e) => window.__rec.sizes.push(e.data.size));
    r.addEventListener("error", (e) => window.__rec.errors.push(String(e.error || e)));
    window.__rec.tracks = document.querySelector("preflight-capture")._s.stream.getTracks().map((t) => `${t.kind}:${t.readyState}`);
  });
  out.axe.take = await accessibility(page);
  out.end = await until(page, `(${event("preflight-take")}) || (${event("preflight-error")}) && {error: ${event("preflight-error")}}`, 240);
  out.axe.result = await accessibility(page);
  out.recorder = await page.evaluate(() => window.__rec);
  out.alert = await page.evaluate(shadow("ROOT.getElementById('alert').hidden ? '' : ROOT.getElementById('alert').textContent"));
  out.errors = await page.evaluate(`(window.events || []).filter((e) => e.type === 'preflight-error').map((e) => e.detail)`);
  await page.screenshot({ path: `${shots}/capture-firefox-result.png`, fullPage: true });
  await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });  // a phone's
  out.axe.phone = await accessibility(page);
} catch (err) {
  out.failure = String(err && err.stack || err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
