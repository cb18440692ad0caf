// Unit tests of <preflight-capture>'s logic that needs no page: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  chunkKept, fill, hintKeys, levelOf, nextDelay, noiseFloor, primaryLanguage, recorderType, sendAgain,
} from "../../preflight/serve/static/capture/logic.js";

const WINDOW = { face_min_height: 0.3, face_max_height: 0.6 };
const fail = (rule) => ({ rule, outcome: "fail" });
const pass = (rule) => ({ rule, outcome: "pass" });
const face = (x, y, w, h) => ({ x, y, w, h });

test("the recorder type is the first the browser supports: WebM, else Safari's MP4", () => {
  assert.equal(recorderType((t) => t.startsWith("video/webm")), "video/webm;codecs=vp9,opus");
  assert.equal(recorderType((t) => t.startsWith("video/mp4")), "video/mp4;codecs=avc1.42E01E,mp4a.40.2");
  assert.equal(recorderType(() => false), "");
});

test("hints: the failing rule's fix, the most useful first; one good hint when nothing fails", () => {
  const none = { findings: [fail("face.count")], faces: [] };
  assert.deepEqual(hintKeys(none, WINDOW, "framing", false), [["bad", "hint_no_face"]]);
  const two = { findings: [fail("face.count")], faces: [face(0.1, 0.1, 0.2, 0.3), face(0.6, 0.1, 0.2, 0.3)] };
  assert.deepEqual(hintKeys(two, WINDOW, "framing", false)[0], ["bad", "hint_one_face"]);
  const small = { findings: [fail("face.size"), fail("face.centered")], faces: [face(0.05, 0.3, 0.1, 0.2)] };
  assert.deepEqual(hintKeys(small, WINDOW, "framing", false), [["bad", "hint_closer"], ["bad", "hint_left"]]);
  const big = { findings: [fail("face.size"), fail("face.centered")], faces: [face(0.4, 0.0, 0.5, 0.9)] };
  assert.deepEqual(hintKeys(big, WINDOW, "framing", false), [["bad", "hint_back"], ["bad", "hint_right"]]);
  const dark = { findings: [pass("face.count"), fail("face.lighting"), fail("face.looking")], faces: [face(0.4, 0.2, 0.2, 0.4)] };
  assert.deepEqual(hintKeys(dark, WINDOW, "framing", false), [["bad", "hint_look"], ["bad", "hint_light"]]);
  const good = { findings: [pass("face.count")], faces: [face(0.4, 0.2, 0.2, 0.4)] };
  assert.deepEqual(hintKeys(good, WINDOW, "framing", false), [["ok", "hint_good"]]);
});

test("hints while listening: open lips are said, closed ones are good", () => {
  const open = { findings: [], faces: [face(0.4, 0.2, 0.2, 0.4)], lips_closed: fail("segments.lips_closed") };
  assert.deepEqual(hintKeys(open, WINDOW, "listening", false), [["bad", "hint_lips"]]);
  assert.deepEqual(hintKeys(open, WINDOW, "speaking", false), [["ok", "hint_good"]]);  // only while listening
  const closed = { ...open, lips_closed: pass("segments.lips_closed") };
  assert.deepEqual(hintKeys(closed, WINDOW, "listening", false), [["ok", "hint_good_listen"]]);
});

test("a phone held sideways gets a hint, never an error; a laptop's landscape picture none", () => {
  const sideways = { findings: [], faces: [face(0.4, 0.2, 0.2, 0.4)], width: 640, height: 360 };
  assert.deepEqual(hintKeys(sideways, WINDOW, "framing", true), [["ok", "hint_good"], ["warn", "hint_upright"]]);
  assert.deepEqual(hintKeys(sideways, WINDOW, "framing", false), [["ok", "hint_good"]]);
  assert.deepEqual(hintKeys({ ...sideways, width: 360, height: 640 }, WINDOW, "framing", true), [["ok", "hint_good"]]);
});

test("strings: placeholders filled, numbers written for the language, unknown ones left as they are", () => {
  assert.equal(fill("{n} s left", { n: 12 }, "en"), "12 s left");
  assert.equal(fill("Rauschen {floor} dBFS", { floor: -52.5 }, "de"), "Rauschen -52,5 dBFS");
  assert.equal(fill("{width}x{height}", { width: 1920, height: 1080 }, "fr"), "1920x1080");  // no grouping
  assert.equal(fill("{bytes} bytes", { bytes: "1024" }, "en"), "1024 bytes");
  assert.equal(fill("{missing} stays", {}, "en"), "{missing} stays");
});

test("the catalog's language is the primary subtag, else English", () => {
  assert.equal(primaryLanguage("pt-PT"), "pt");
  assert.equal(primaryLanguage("pt-BR"), "pt");
  assert.equal(primaryLanguage("JA"), "ja");
  assert.equal(primaryLanguage(""), "en");
  assert.equal(primaryLanguage(null), "en");
  assert.equal(primaryLanguage("../../etc"), "en");  // never a path
});

test("a chunk is kept when the server says so, or said before (a 409 past it)", () => {
  assert.equal(chunkKept(200, {}, 3), true);
  assert.equal(chunkKept(409, { next_seq: 4 }, 3), true);   // a repeat: kept before
  assert.equal(chunkKept(409, { next_seq: 3 }, 5), false);  // a gap: not kept
  assert.equal(chunkKept(413, {}, 0), false);
  assert.equal(sendAgain(null), true);   // the network
  assert.equal(sendAgain(503), true);
  assert.equal(sendAgain(429), true);
  assert.equal(sendAgain(404), false);   // refused: sending again changes nothing
  assert.deepEqual([500, 1000, 2000, 4000, 8000, 8000].map(nextDelay), [1000, 2000, 4000, 8000, 8000, 8000]);
});

test("the room's noise floor is its quietest tenth; a level in dBFS from samples", () => {
  const levels = [-30, -31, -58, -29, -60, -32, -33, -30, -31, -30];
  assert.equal(noiseFloor(levels), -58);
  assert.equal(Math.round(levelOf(new Float32Array(100).fill(0.5)).db), -6);
  assert.equal(levelOf(new Float32Array([0, 1, -1])).peak, 1);
  assert.equal(levelOf(new Float32Array(0)).db, -120);
});
