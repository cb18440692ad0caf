// <preflight-capture>'s markup (template.js): one part of the element, imported by capture.js.

/**
 * The element's shadow DOM: real buttons and regions, every string filled in by its data-t key.
 * @param {string} styleHref the element's style sheet (beside its module, on the preflight server)
 * @returns {string}
 */
export function template(styleHref) {
  return `
<link rel="stylesheet" href="${styleHref}">
<div class="root" part="root">
  <header part="header"><h2 data-t="title"></h2><p class="muted" data-t="private" id="private"></p></header>
  <p id="alert" role="alert" part="alert" hidden></p>
  <section id="setup" part="setup" aria-labelledby="setup-title">
    <h3 id="setup-title" data-t="setup_title"></h3>
    <p id="camera-status" role="status"></p>
    <ul id="setup-checks" class="checks"></ul>
    <button id="room" type="button" part="button" disabled data-t="room_button"></button>
    <p id="room-status" role="status" data-t="room_idle"></p>
    <div id="handoff" part="handoff" hidden>
      <button id="handoff-button" type="button" part="button secondary" data-t="handoff_button"></button>
      <div id="handoff-box" hidden>
        <canvas id="qr" part="qr" role="img"></canvas>
        <p data-t="handoff_text"></p>
        <p id="handoff-status" role="status" data-t="handoff_waiting"></p>
      </div>
    </div>
  </section>
  <section id="stage" part="stage" aria-labelledby="stage-title">
    <h3 id="stage-title" data-t="stage_title"></h3>
    <div class="viewer" id="viewer" part="viewer">
      <video id="camera" autoplay muted playsinline></video>
      <canvas id="overlay" aria-hidden="true"></canvas>
      <div id="prompter" part="prompter" hidden>
        <p id="phase" role="status"></p><p id="script"></p><p id="countdown" aria-live="polite" aria-atomic="true"></p>
      </div>
    </div>
    <div class="side">
      <h4 data-t="guidance_title"></h4>
      <ul id="hints" aria-live="polite" class="hints" part="hints"></ul>
      <h4 data-t="sound_title"></h4>
      <div class="meter" role="meter" id="meter" aria-valuemin="-60" aria-valuemax="0" aria-valuenow="-60"><div id="meter-bar"></div></div>
      <p id="meter-text"></p>
      <details><summary data-t="script_title"></summary><textarea id="script-text" rows="7"></textarea></details>
    </div>
  </section>
  <section id="take" part="take" aria-labelledby="take-title">
    <h3 id="take-title" data-t="take_title"></h3>
    <p id="take-plan"></p>
    <div class="buttons">
      <button id="start" type="button" part="button primary" disabled data-t="start"></button>
      <button id="stop" type="button" part="button secondary" disabled data-t="stop"></button>
      <button id="resume" type="button" part="button secondary" hidden data-t="check_what_arrived"></button>
    </div>
    <p id="take-status" role="status"></p>
  </section>
  <section id="result" part="result" aria-labelledby="result-title" hidden>
    <h3 id="result-title" data-t="result_title"></h3>
    <p id="verdict" part="verdict" tabindex="-1"></p>
    <svg id="timeline"></svg>
    <ul id="findings" class="findings" part="findings"></ul>
    <p id="files" class="muted"></p>
    <div class="buttons">
      <button id="again" type="button" part="button secondary" data-t="again"></button>
      <button id="submit" type="button" part="button primary" hidden data-t="submit"></button>
      <button id="report" type="button" part="button secondary" data-t="report"></button>
    </div>
    <p id="submit-status" role="status"></p>
  </section>
</div>`;
}
