// <preflight-capture>'s calls to the preflight server (server.js): JSON calls with the token, and a take's
// chunks, each sent again with backoff until the server has it.

import { chunkKept, nextDelay, sendAgain } from "./logic.js";

/** An answer the server refused (4xx): its status and its one-line reason. */
export class Refused extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A JSON call with the bearer token; Refused when the server says no.
 * @param {string} url
 * @param {string} token
 * @param {RequestInit & {headers?: Record<string, string>}} [options]
 * @returns {Promise<any>}
 */
export async function call(url, token, options = {}) {
  const headers = { ...(options.headers || {}), authorization: `Bearer ${token}` };
  const reply = await fetch(url, { ...options, headers, credentials: "omit", referrerPolicy: "no-referrer" });
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new Refused(reply.status, body.error || `HTTP ${reply.status}`);
  return body;
}

/**
 * @typedef {object} Sending
 * @property {typeof fetch} [send] the fetch to use (a test's stand-in)
 * @property {(ms: number) => Promise<unknown>} [wait]
 * @property {number} [forMs] how long to keep trying: a server restarting, a phone between networks
 */

/**
 * One chunk of a take, sent until the server has it (or refuses it, or time runs out): true when kept.
 * @param {string} url the chunk's address (…/v1/takes/{id}/chunks?seq=N)
 * @param {string} token
 * @param {Blob} blob
 * @param {number} seq
 * @param {Sending} [how]
 * @returns {Promise<boolean>}
 */
export async function sendChunk(url, token, blob, seq, { send = fetch, wait = sleep, forMs = 120000 } = {}) {
  let delay = 500;
  const deadline = Date.now() + forMs;
  while (Date.now() < deadline) {
    /** @type {number|null} */
    let status = null;
    try {
      const reply = await send(url, { method: "POST", body: blob, headers: { authorization: `Bearer ${token}` },
                                      credentials: "omit" });
      status = reply.status;
      const body = await reply.json().catch(() => ({}));
      if (chunkKept(reply.status, body, seq)) return true;
    } catch (err) {
      // the request did not complete: sent again below
    }
    if (!sendAgain(status)) return false;
    await wait(delay);
    delay = nextDelay(delay);
  }
  return false;
}

/**
 * The take once the server has checked it, asked every second; a server that restarts is waited for.
 * @param {() => Promise<any>} read reads the take
 * @param {(ms: number) => Promise<unknown>} [wait]
 * @returns {Promise<any>}
 */
export async function untilChecked(read, wait = sleep) {
  for (let failures = 0; ;) {
    try {
      const take = await read();
      if (take.status === "done") return take;
      failures = 0;
    } catch (err) {
      if (err instanceof Refused || ++failures > 60) throw err;  // else: the server is restarting
    }
    await wait(1000);
  }
}
