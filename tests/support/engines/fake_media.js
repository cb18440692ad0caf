// A test camera and microphone for any browser engine: navigator.mediaDevices.getUserMedia answers with a
// canvas stream that shows a real face (the public-domain portrait the test gives as window.__FACE_URL,
// tests/media/grace_hopper.jpg) moving a little, as a person does, and a voice-like sound made with WebAudio
// (a tone whose loudness rises and falls like syllables), or, with window.__DEVICE_SOUND, the engine's own
// fake microphone (Firefox's media.navigator.streams.fake: a steady tone that its recorder takes at once,
// where a WebAudio track could leave it waiting for samples). Injected before the page's own scripts.
(() => {
  const original = navigator.mediaDevices?.getUserMedia?.bind(navigator.mediaDevices);
  const SIZE = { width: 640, height: 360 };
  async function faceStream() {
    const picture = new Image();
    picture.src = window.__FACE_URL;
    await picture.decode();
    const canvas = document.createElement("canvas");
    canvas.width = SIZE.width;
    canvas.height = SIZE.height;
    const ctx = canvas.getContext("2d");
    const started = performance.now();
    const draw = () => {
      const t = (performance.now() - started) / 1000;
      ctx.fillStyle = "#6b7b8c";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      const h = canvas.height * 0.8, w = h * picture.width / picture.height;
      ctx.drawImage(picture, (canvas.width - w) / 2 + Math.sin(t) * 4, canvas.height * 0.1 + Math.cos(t * 0.7) * 2, w, h);
    };
    draw();
    setInterval(draw, 1000 / 30);
    return canvas.captureStream(30);
  }
  function voiceStream() {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.frequency.value = 180;
    const syllables = audio.createGain();
    const rate = audio.createOscillator();
    rate.frequency.value = 4;  // four syllables a second
    const depth = audio.createGain();
    depth.gain.value = 0.2;
    rate.connect(depth).connect(syllables.gain);
    syllables.gain.value = 0.2;
    const out = audio.createMediaStreamDestination();
    tone.connect(syllables).connect(out);
    tone.start();
    rate.start();
    audio.resume();
    // a page's sound may start only after a gesture: the person's click on Start gives one
    addEventListener("pointerdown", () => audio.resume(), { capture: true });
    return out.stream;
  }
  const stand_in = async (constraints) => {
    const tracks = [];
    if (constraints && constraints.video) tracks.push(...(await faceStream()).getVideoTracks());
    if (constraints && constraints.audio) {
      const sound = window.__DEVICE_SOUND && original ? await original({ audio: true }) : voiceStream();
      tracks.push(...sound.getAudioTracks());
    }
    return new MediaStream(tracks);
  };
  if (!navigator.mediaDevices) Object.defineProperty(navigator, "mediaDevices", { value: {} });
  navigator.mediaDevices.getUserMedia = stand_in;
})();
