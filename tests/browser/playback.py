"""Plays frameflow's delivery routes in a real browser: Debian's headless Chromium, driven by
Playwright (pointed at the system browser, nothing downloaded).

Run by tests/e2e/browser.rs, which starts the server, uploads the videos and checks what
this prints: one JSON object with, for each check, whether the browser played, where it
was, and the pixels it drew (RGB, base64) so the test can read the pattern frame index.

    playback.py BASE_URL MP4_ID MP4_AT MKV_ID MKV_AT HLS_JS_PATH
"""

import json
import sys

from playwright.sync_api import sync_playwright

base, mp4, mp4_at, mkv, mkv_at, hls_js = sys.argv[1:7]

# The test page is answered by the browser itself (a route) on the server's origin, so the
# video it draws on a canvas is same-origin and its pixels can be read back.
PAGE = "<!doctype html><html><body><video id=v muted playsinline></video><canvas id=c></canvas><img id=i></body></html>"

GRAB = """
window.grab = (source, x, y, w, h) => {
  const c = document.getElementById('c');
  c.width = w; c.height = h;
  const g = c.getContext('2d');
  g.drawImage(source, x, y, w, h, 0, 0, w, h);
  const d = g.getImageData(0, 0, w, h).data;
  let s = '';
  for (let i = 0; i < d.length; i += 4) s += String.fromCharCode(d[i], d[i + 1], d[i + 2]);
  return { width: w, height: h, rgb: btoa(s) };
};
window.settle = (ms) => new Promise(r => setTimeout(r, ms));
window.waitFor = (target, type) => new Promise((resolve, reject) => {
  target.addEventListener(type, resolve, { once: true });
  target.addEventListener('error', () => reject(new Error(type + ': ' + (target.error ? target.error.message : 'error'))), { once: true });
});
// Plays for a moment (how far it got says it played), then seeks to `at` and draws.
window.playSeekDraw = async (v, at) => {
  await v.play();
  const t0 = v.currentTime;
  for (let i = 0; i < 50 && v.currentTime - t0 < 0.5; i++) await settle(100);
  const played = v.currentTime - t0;
  v.pause();
  v.currentTime = at;
  await waitFor(v, 'seeked');
  await settle(300);
  return { played, duration: v.duration, current: v.currentTime, ...grab(v, 0, 0, v.videoWidth, v.videoHeight) };
};
"""

PLAY_FILE = """async ({ src, at }) => {
  const v = document.getElementById('v');
  v.src = src;
  await waitFor(v, 'loadeddata');
  return await playSeekDraw(v, at);
}"""

PLAY_HLS = """async ({ src, at }) => {
  const v = document.getElementById('v');
  v.removeAttribute('src'); v.load();
  const native = v.canPlayType('application/vnd.apple.mpegurl');
  const hls = new Hls();
  const parsed = new Promise((resolve, reject) => {
    hls.on(Hls.Events.MANIFEST_PARSED, resolve);
    hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) reject(new Error(d.type + ' ' + d.details)); });
  });
  hls.loadSource(src);
  hls.attachMedia(v);
  await parsed;
  const drawn = await playSeekDraw(v, at);
  return { native, ...drawn };
}"""

STORYBOARD = """async ({ vtt }) => {
  const text = await (await fetch(vtt)).text();
  const cue = text.split('\\n').find(l => l.includes('#xywh='));
  const [url, fragment] = cue.split('#xywh=');
  const [x, y, w, h] = fragment.split(',').map(Number);
  const img = document.getElementById('i');
  img.src = url;
  await img.decode();
  return { url, sprite: [img.naturalWidth, img.naturalHeight], ...grab(img, x, y, w, h) };
}"""

with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
    )
    page = browser.new_page()
    page.route(f"{base}/__test__/page.html", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    page.route(f"{base}/__test__/hls.min.js", lambda route: route.fulfill(path=hls_js, content_type="text/javascript"))
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/__test__/page.html")
    page.add_script_tag(url=f"{base}/__test__/hls.min.js")
    page.add_script_tag(content=GRAB)
    out = {"browser": browser.version}
    out["mp4"] = page.evaluate(PLAY_FILE, {"src": f"/v1/videos/{mp4}/video", "at": float(mp4_at)})
    out["hls"] = page.evaluate(PLAY_HLS, {"src": f"/v1/videos/{mkv}/hls/index.m3u8", "at": float(mkv_at)})
    out["storyboard"] = page.evaluate(STORYBOARD, {"vtt": f"/v1/videos/{mp4}/storyboard.vtt?tiles=4&width=160&columns=2"})
    out["console_errors"] = errors
    browser.close()
print(json.dumps(out))
