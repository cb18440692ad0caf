// <preflight-capture>'s sound (sound.js): the microphone's level for the meter, and the room's noise floor.
// Made in the user's click: before a gesture a browser starts an AudioContext suspended.

import { levelOf, noiseFloor } from "./logic.js";

export class Sound {
  /** @param {MediaStream} stream */
  constructor(stream) {
    this.context = new AudioContext();
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 2048;
    this.context.createMediaStreamSource(stream).connect(this.analyser);
    this.data = new Float32Array(this.analyser.fftSize);
  }

  /** @returns {{db: number, peak: number}} the level now */
  level() {
    this.analyser.getFloatTimeDomainData(this.data);
    return levelOf(this.data);
  }

  /**
   * The level on the meter (a `meter` with its value) every frame, while `alive()`.
   * @param {HTMLElement} meter
   * @param {HTMLElement} bar
   * @param {HTMLElement} text
   * @param {() => boolean} alive
   * @param {string} tooLoud what to say when the sound clips
   */
  show(meter, bar, text, alive, tooLoud) {
    const draw = () => {
      if (!alive()) return;
      const { db, peak } = this.level();
      const shown = Math.max(-60, Math.min(0, Math.round(db)));
      bar.style.width = `${(shown + 60) / 60 * 100}%`;
      bar.classList.toggle("clip", peak >= 0.99);
      meter.setAttribute("aria-valuenow", String(shown));
      meter.setAttribute("aria-valuetext", `${shown} dBFS`);
      text.textContent = peak >= 0.99 ? tooLoud : `${shown} dBFS`;
      requestAnimationFrame(draw);
    };
    draw();
  }

  /**
   * The room's noise floor (dBFS) over `ms` of quiet.
   * @param {number} [ms]
   * @returns {Promise<number>}
   */
  floor(ms = 3000) {
    /** @type {number[]} */
    const levels = [];
    const started = performance.now();
    return new Promise((resolve) => {
      const tick = setInterval(() => {
        levels.push(this.level().db);
        if (performance.now() - started < ms) return;
        clearInterval(tick);
        resolve(noiseFloor(levels));
      }, 100);
    });
  }
}
