// Unit tests of <preflight-capture>'s chunk sending and checked-take polling: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { Refused, sendChunk, untilChecked } from "../../preflight/serve/static/capture/server.js";

const now = () => Promise.resolve();
const reply = (status, body = {}) => ({ status, json: async () => body });

test("a chunk is sent again with backoff until the server has it", async () => {
  const answers = [new TypeError("network down"), reply(503), reply(429), reply(200, { ok: true })];
  const waits = [];
  const sent = await sendChunk("http://x/v1/takes/t/chunks?seq=0", "tok", new Blob(["abc"]), 0, {
    send: async (url, init) => {
      assert.equal(init.headers.authorization, "Bearer tok");
      const next = answers.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    wait: async (ms) => { waits.push(ms); },
  });
  assert.equal(sent, true);
  assert.deepEqual(waits, [500, 1000, 2000]);
});

test("a chunk the server already has (a repeat after a dropped answer) is kept, not sent again", async () => {
  let calls = 0;
  const sent = await sendChunk("u", "t", new Blob(["x"]), 2, { send: async () => { calls++; return reply(409, { next_seq: 3 }); }, wait: now });
  assert.equal(sent, true);
  assert.equal(calls, 1);
});

test("a refused chunk is not sent again; time running out ends the attempts", async () => {
  let calls = 0;
  assert.equal(await sendChunk("u", "t", new Blob(["x"]), 0, { send: async () => { calls++; return reply(413); }, wait: now }), false);
  assert.equal(calls, 1);
  const never = await sendChunk("u", "t", new Blob(["x"]), 0, { send: async () => reply(503), wait: now, forMs: 20 });
  assert.equal(never, false);
});

test("a take is read until checked; a restarting server is waited for, a refusal is not", async () => {
  const states = [new TypeError("restarting"), { status: "checking" }, { status: "done", verdict: "pass" }];
  const take = await untilChecked(async () => {
    const next = states.shift();
    if (next instanceof Error) throw next;
    return next;
  }, now);
  assert.equal(take.verdict, "pass");
  await assert.rejects(untilChecked(async () => { throw new Refused(404, "no such take"); }, now), /no such take/);
});
