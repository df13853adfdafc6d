"""The web viewer at `/` in headless Chromium (Debian's, driven by Playwright): upload a video
through the page, scrub to frame 100, step with the keyboard, turn on the flow overlay, and
upload something that is not a video. Run by tests/e2e/browser.rs, which checks what this
prints (one JSON object; the drawn frames as RGB, base64) and keeps the screenshot.

    viewer.py BASE_URL VIDEO NOT_A_VIDEO SCREENSHOT
"""

import json
import sys

from playwright.sync_api import sync_playwright

base, video, not_video, screenshot = sys.argv[1:5]

GRAB = """(id) => {
  const img = document.getElementById(id);
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = '';
  for (let i = 0; i < d.length; i += 4) s += String.fromCharCode(d[i], d[i + 1], d[i + 2]);
  return { width: c.width, height: c.height, rgb: btoa(s), shown: document.getElementById('index').textContent };
}"""

with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(f"{base}/")
    out = {"title": page.title()}
    page.set_input_files("#file", video)
    page.wait_for_selector('#frame[data-index="0"]', timeout=30000)
    out["listed"] = page.locator("#videos li").count()
    # Drag the scrubber to frame 100 (what an input event from a drag does).
    page.evaluate("() => { const s = document.getElementById('scrubber'); s.value = 100; s.dispatchEvent(new Event('input')); }")
    page.wait_for_selector('#frame[data-index="100"]', timeout=30000)
    out["frame100"] = page.evaluate(GRAB, "frame")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector('#frame[data-index="101"]', timeout=30000)
    out["frame101"] = page.evaluate(GRAB, "frame")
    page.keyboard.press("Shift+ArrowRight")
    page.wait_for_selector('#frame[data-index="250"]', timeout=30000)
    out["after_next_key"] = page.locator("#index").text_content()
    page.check("#flowOn")
    page.wait_for_selector('#flow[data-index="250"]', timeout=30000, state="attached")
    out["flow"] = page.evaluate("() => { const f = document.getElementById('flow'); return [f.naturalWidth, f.naturalHeight, f.hidden]; }")
    # A small sampling job from the form, watched to the end, its gallery shown.
    page.fill("#numClips", "2")
    page.fill("#perClip", "3")
    page.select_option("#modality", "rgb+flow")
    page.click("#startJob")
    page.wait_for_selector('#jobState[data-state="succeeded"]', timeout=120000)
    page.wait_for_function("() => document.querySelectorAll('#gallery img[data-loaded]').length >= 18", timeout=60000)
    out["gallery"] = page.locator("#gallery img").count()
    out["clips"] = page.locator("#gallery .clip").count()
    # A clip cut from the form comes back as a download.
    page.fill("#clipFrom", "10")
    page.fill("#clipTo", "19")
    with page.expect_download() as download:
        page.click("#clipTs")
    out["clip_download"] = download.value.suggested_filename
    page.screenshot(path=screenshot)
    page.set_input_files("#file", not_video)
    page.wait_for_selector("#error", state="visible", timeout=30000)
    out["error"] = page.locator("#error").text_content()
    browser.close()
print(json.dumps(out))
