// End-to-end test of the medcrypt web application in a real browser
// (issue 7): Debian's chromium driven by playwright-core (no downloaded
// browser). Run by tests/e2e/run.sh:
//
//     node e2e.mjs /abs/medcrypt /abs/testdata [SCREENSHOT_DIR]
//
// Starts `medcrypt serve --listen 127.0.0.1:0`, then as a user would: home
// -> encrypt (an invalid Aadhaar number shows its message; a valid one gives
// the key) -> download the cipher image -> decrypt with the key -> download
// the result, which must equal the original byte for byte; a wrong key shows
// its message. Prints "ok - ..." lines and "N passed, M failed".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

// axe-core (Deque's accessibility engine, from the same package-lock.json),
// run in each page as it is: its WCAG 2.0-2.2 A and AA rules and its best
// practices.
const axeSource = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)),
  'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
async function axeViolations(page) {
  await page.evaluate(axeSource); /* through the DevTools protocol: the CSP does not apply */
  const r = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    AXE_TAGS);
  return r.violations.map((v) => `${v.id} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

const [mc, testdata, shotsArg] = process.argv.slice(2);
if (!mc || !testdata) {
  console.error('usage: node e2e.mjs /path/to/medcrypt /path/to/testdata [SCREENSHOT_DIR]');
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'medcrypt-e2e-'));
const shots = shotsArg || path.join(tmp, 'screenshots');
fs.mkdirSync(shots, { recursive: true });

let passed = 0;
let failed = 0;
function ok(cond, what, detail = '') {
  if (cond) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}${detail ? ` (${detail})` : ''}`);
  }
  return cond;
}

// The server, in an empty working directory.
function startServer(extra = [], dir = 'cwd') {
  const cwd = path.join(tmp, dir);
  fs.mkdirSync(cwd);
  const child = spawn(mc, ['serve', '--listen', '127.0.0.1:0', ...extra], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', () => {}); // the access log
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the server did not start in 10 s')), 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /serving on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1] });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code})`));
    });
  });
}

const original = path.join(testdata, 'pnm', 'ct_512_8bit.pgm');
const AADHAAR = '2345 6789 0124';
const DOB = '1990-05-17';

async function main() {
  const { child, base } = await startServer();
  ok(true, `the server runs at ${base}`);
  const context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  context.setDefaultTimeout(20000);
  const page = context.pages()[0] || (await context.newPage());
  const consoleErrors = [];
  // A refused form comes back as a 400/422 page, which chromium reports as a
  // failed resource: expected. Anything else (a CSP violation) is an error.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (400|422) /.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // The encrypt form, on page p at /encrypt, filled and sent: the result
  // page of a new key.
  const encryptNewKey = async (p) => {
    await p.setInputFiles('#image', original);
    await p.fill('#aadhaar', AADHAAR);
    await p.fill('#dob', DOB);
    await Promise.all([p.waitForURL(base + '/encrypt'), p.click('button[type=submit]')]);
    await p.waitForSelector('#key-text');
  };
  try {
    // Home.
    await page.goto(base + '/');
    ok((await page.title()).includes('medcrypt'), 'the home page opens');
    await page.screenshot({ path: path.join(shots, 'home.png'), fullPage: true });

    // Encrypt: an invalid Aadhaar number is refused in the browser.
    await page.getByRole('link', { name: 'Encrypt an image' }).click();
    await page.waitForURL(base + '/encrypt');
    ok(true, 'the home page links to the encrypt page');
    // Encrypt pressed right after a wrong number was typed: the number's
    // message, shown as its field lost the focus, pushed the button down
    // between the press and the release, and the click was lost with the
    // other fields' messages (found in review).
    await page.fill('#aadhaar', '2345 6789 0125');
    await page.click('button[type=submit]');
    const missed = [await page.locator('#image-error').textContent(),
      await page.locator('#dob-error').textContent(), await page.locator('#aadhaar-error').textContent()];
    ok(missed.every((m) => m.trim() !== ''),
      'Encrypt pressed right after a wrong number: every field says its problem', JSON.stringify(missed));
    // An impossible date (31 February), typed, is said when the field is
    // left, as the number is (it waited for Encrypt: a review).
    await page.goto(base + '/encrypt');
    await page.focus('#dob');
    await page.keyboard.type('02311990');
    await page.click('#aadhaar'); /* Tab moves between the date's own parts */
    const dErr = await page.locator('#dob-error').textContent();
    ok(dErr === 'Date of birth is incomplete or not a real calendar date.',
      'an impossible date is said when its field is left', dErr);
    await page.goto(base + '/encrypt');
    await page.setInputFiles('#image', original);
    await page.fill('#aadhaar', '2345 6789 0125');
    await page.fill('#dob', DOB);
    await page.click('button[type=submit]');
    const aErr = await page.locator('#aadhaar-error').textContent();
    ok(aErr.includes('Aadhaar number fails its check digit'), 'an invalid Aadhaar number shows its message', aErr);
    ok(page.url() === base + '/encrypt', 'the invalid form is not sent');
    await page.screenshot({ path: path.join(shots, 'encrypt-invalid.png'), fullPage: true });
    await page.fill('#aadhaar', '1234');
    await page.click('button[type=submit]');
    ok((await page.locator('#aadhaar-error').textContent()).includes('must be 12 digits (spaces and hyphens allowed)'),
      'a short Aadhaar number shows its message');

    // Encrypt for real.
    await page.fill('#aadhaar', AADHAAR);
    ok((await page.locator('#aadhaar-error').textContent()) === '', 'the message goes when the number is fixed');
    await page.screenshot({ path: path.join(shots, 'encrypt.png'), fullPage: true });
    await Promise.all([page.waitForURL(base + '/encrypt'), page.click('button[type=submit]')]);
    await page.waitForSelector('#key-text');
    const key = (await page.locator('#key-text').textContent()).trim();
    ok(/^MCK1-[0-9A-Z]{8}(-[0-9A-Z]{8}){6}$/.test(key), 'the result page shows the key');
    ok((await page.locator('#aadhaar-masked').textContent()) === 'XXXX XXXX 0124', 'the Aadhaar number is masked');
    ok(!(await page.content()).includes('6789 0124'), 'the full Aadhaar number is not on the page');
    ok(await page.locator('#copy-key').isVisible(), 'the copy button is shown (JavaScript)');
    // The key printed (to keep on paper) from a dark screen: black on
    // white; its screen box is dark, which a printer leaves out (a review:
    // light grey on paper).
    await page.emulateMedia({ media: 'print', colorScheme: 'dark' });
    const keyInk = await page.locator('#key-text').evaluate((el) =>
      [getComputedStyle(el).color, getComputedStyle(el).backgroundColor, el.getClientRects().length > 0]);
    ok(keyInk[0] === 'rgb(0, 0, 0)' && keyInk[1] === 'rgb(255, 255, 255)' && keyInk[2],
      'the key prints black on white, from the dark scheme too', JSON.stringify(keyInk));
    // ... without the cipher image's noise (a page of ink) or the links
    // onward (a second sheet for one line: a review)
    const inked = await page.evaluate(() => ['#cipher-preview', 'p.next']
      .filter((sel) => document.querySelector(sel).getClientRects().length > 0));
    ok(inked.length === 0, 'the key page prints without the cipher image\'s noise and the links onward',
      JSON.stringify(inked));
    await page.emulateMedia({ media: 'screen', colorScheme: 'light' });
    // The key as a file (keyboard users without JavaScript cannot select it).
    const [dlk] = await Promise.all([page.waitForEvent('download'), page.click('#download-key')]);
    ok(/^medcrypt-[0-9a-f]{16}\.key$/.test(dlk.suggestedFilename()), 'the key saves as medcrypt-KEYID.key',
      dlk.suggestedFilename());
    const keyPath = path.join(tmp, 'patient.key');
    await dlk.saveAs(keyPath);
    ok(fs.readFileSync(keyPath, 'utf8').split('\n').includes(key), 'the saved key file holds the key');
    const previewOk = await page.locator('#cipher-preview').evaluate((img) => img.complete && img.naturalWidth === 512);
    ok(previewOk, 'the cipher preview is displayed (512 pixels wide)');
    await page.screenshot({ path: path.join(shots, 'encrypt-result.png'), fullPage: true });
    // On a phone the key wraps only after a group's hyphen, so a key copied
    // by hand keeps its groups of eight.
    await page.setViewportSize({ width: 360, height: 800 });
    const splits = await page.evaluate(() => {
      const node = document.getElementById('key-text').firstChild;
      const text = node.textContent;
      const range = document.createRange();
      let lastTop = null, bad = [], lines = 1;
      for (let i = 0; i < text.length; i++) {
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        const top = range.getBoundingClientRect().top;
        if (lastTop !== null && top > lastTop + 2) {
          lines++;
          if (text[i - 1] !== '-') bad.push(i);
        }
        lastTop = top;
      }
      return { lines, bad };
    });
    ok(splits.lines > 1 && splits.bad.length === 0,
      'on a phone the key wraps only after a hyphen', JSON.stringify(splits));
    // ... and "Download NAME" wraps inside its panel, for a name as long
    // as a PACS export's (it ran off a 320-pixel page: a review).
    await page.setViewportSize({ width: 320, height: 800 });
    const fit = await page.evaluate(() => {
      const a = document.getElementById('download'), text = a.textContent;
      a.textContent = 'Download CT_HEAD_without_contrast_series0001_slice0042.dcm.enc.png';
      const b = a.getBoundingClientRect(), s = a.closest('section').getBoundingClientRect();
      const r = { button: Math.round(b.right), panel: Math.round(s.right),
                  page: document.documentElement.scrollWidth };
      a.textContent = text;
      return r;
    });
    ok(fit.button <= fit.panel && fit.page <= 320,
      'on a 320-pixel phone the Download button stays inside its panel', JSON.stringify(fit));
    await page.setViewportSize({ width: 1280, height: 860 });

    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    ok(dl.suggestedFilename() === 'ct_512_8bit.pgm.enc.png', 'the cipher downloads as ct_512_8bit.pgm.enc.png', dl.suggestedFilename());
    const cipher = path.join(tmp, 'cipher.png');
    await dl.saveAs(cipher);
    ok(fs.readFileSync(cipher).subarray(1, 4).toString() === 'PNG', 'the downloaded cipher is a PNG');

    // A reload must not post the form again: a second key would never open
    // the cipher image saved from the first.
    await page.reload();
    await page.waitForSelector('#encrypt-form');
    ok((await page.locator('#key-text').count()) === 0,
      'reloading the result page shows the empty form, not a second key');

    // Decrypt with the key.
    await page.locator('nav a[href="/decrypt"]').click();
    await page.waitForURL(base + '/decrypt');
    await page.setInputFiles('#cipher', cipher);
    await page.fill('#key', key);
    // The key can be shown to check it, and hidden again.
    await page.click('button.show-key');
    ok((await page.locator('#key').getAttribute('type')) === 'text' &&
       (await page.locator('button.show-key').getAttribute('aria-pressed')) === 'true',
      'the key can be shown (aria-pressed)');
    await page.click('button.show-key');
    ok((await page.locator('#key').getAttribute('type')) === 'password', 'and hidden again');
    await page.screenshot({ path: path.join(shots, 'decrypt.png'), fullPage: true });
    await Promise.all([page.waitForURL(base + '/decrypt'), page.click('button[type=submit]')]);
    await page.waitForSelector('#plain-preview');
    ok(await page.locator('#plain-preview').evaluate((img) => img.complete && img.naturalWidth === 512),
      'the decrypted preview is displayed');
    await page.screenshot({ path: path.join(shots, 'decrypt-result.png'), fullPage: true });
    const [dl2] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    ok(dl2.suggestedFilename() === 'ct_512_8bit.pgm', 'the result downloads as ct_512_8bit.pgm', dl2.suggestedFilename());
    const restored = path.join(tmp, 'restored.pgm');
    await dl2.saveAs(restored);
    ok(fs.readFileSync(restored).equals(fs.readFileSync(original)), 'the downloaded image equals the original byte for byte');
    // Nor the decryption's: a reload (or Back then Forward) gave the
    // browser's "Confirm Form Resubmission" page (a review).
    await page.reload();
    await page.waitForSelector('#decrypt-form', { timeout: 5000 }).catch(() => {});
    ok((await page.locator('#decrypt-form').count()) === 1 &&
       (await page.locator('#plain-preview').count()) === 0,
      'reloading the decryption result shows the empty form, not the browser\'s resubmission page');

    // The key file instead of the key's text.
    await page.goto(base + '/decrypt');
    await page.setInputFiles('#cipher', cipher);
    await page.setInputFiles('#keyfile', keyPath);
    await Promise.all([page.waitForURL(base + '/decrypt'), page.click('button[type=submit]')]);
    await page.waitForSelector('#plain-preview');
    ok(true, 'the saved key file decrypts the image on the decrypt page');

    // A wrong key.
    await page.goto(base + '/decrypt');
    await page.setInputFiles('#cipher', cipher);
    const other = key.slice(0, 5) + (key[5] === 'A' ? 'B' : 'A') + key.slice(6);
    await page.fill('#key', other);
    await page.click('button[type=submit]');
    await page.waitForSelector('#form-error');
    ok((await page.locator('#form-error').textContent()).includes('Key:'), 'a mistyped key shows its message');
    // ... as a screen reader needs it (WCAG 3.3.1, 4.1.3, 2.4.2): the
    // summary has the focus, the title says so, the field is marked
    // invalid and described by the message, the summary links to it.
    ok(await page.evaluate(() => document.activeElement && document.activeElement.id === 'form-error'),
      'the error summary has the focus when the page comes back');
    ok((await page.title()).startsWith('Error: Decrypt an image'), 'the title says the form has an error',
      await page.title());
    ok((await page.locator('#key').getAttribute('aria-invalid')) === 'true', 'the key field is marked invalid');
    ok((await page.locator('#key-error').textContent()).includes('Key:'),
      'the message is also beside the key field (its aria-describedby)');
    ok((await page.locator('#form-error a[href="#key"]').count()) === 1, 'the summary links to the key field');
    // The focus ring: at least 3:1 against the panel (WCAG 1.4.11).
    await page.focus('#key');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const lum = (c) => {
        const [r, g, b] = c.match(/\d+/g).slice(0, 3).map((v) => {
          v = Number(v) / 255;
          return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const st = getComputedStyle(document.activeElement);
      const a = lum(st.outlineColor), b = lum('rgb(255, 255, 255)');
      return { id: document.activeElement.id, style: st.outlineStyle,
               ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
    });
    ok(ring.id === 'key' && ring.style !== 'none' && ring.ratio >= 3,
      'the focus ring of a field is visible against the white panel (>= 3:1)', JSON.stringify(ring));
    // The encrypt page with a mistyped existing key: the key section comes
    // back open, with the field the message names.
    await page.goto(base + '/encrypt');
    await page.setInputFiles('#image', original);
    await page.locator('#existing-key summary').click();
    await page.fill('#key', 'MCK1-ABCD');
    await Promise.all([page.waitForURL(base + '/encrypt'), page.click('button[type=submit]')]);
    await page.waitForSelector('#form-error');
    ok(await page.locator('#existing-key').evaluate((d) => d.open) && await page.locator('#key').isVisible(),
      'a key error comes back with the key section open');
    // Back then Forward after a refused form: the form, not the
    // browser's "Confirm Form Resubmission" page (a review), and no second
    // post of the image and the key.
    const posts = [];
    const countPost = (req) => { if (req.method() === 'POST') posts.push(req.url()); };
    page.on('request', countPost);
    await page.goBack();
    await page.goForward().catch(() => {}); /* ERR_CACHE_MISS: the resubmission page */
    await page.waitForSelector('#encrypt-form', { timeout: 5000 }).catch(() => {});
    page.off('request', countPost);
    ok((await page.locator('#encrypt-form').count()) === 1 && posts.length === 0,
      'Back then Forward after a refused form: the form again, nothing posted', JSON.stringify(posts));

    // Without JavaScript, every problem of the form comes back at once,
    // each linked to its field.
    const plain = await context.newPage(); // app.js refused: as with JavaScript off
    await plain.route('**/static/app.js', (route) => route.abort());
    await plain.goto(base + '/encrypt');
    await Promise.all([plain.waitForURL(base + '/encrypt'), plain.click('button[type=submit]')]);
    const links = await plain.locator('#form-error a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    ok(JSON.stringify(links) === JSON.stringify(['#image', '#aadhaar', '#dob']),
      'without JavaScript an empty form lists its three problems at once', JSON.stringify(links));
    ok((await plain.locator('#aadhaar').getAttribute('aria-invalid')) === 'true' &&
       (await plain.locator('#dob-error').textContent()).includes('date of birth'),
      'each field is marked invalid, with its message beside it');
    await plain.screenshot({ path: path.join(shots, 'encrypt-errors.png'), fullPage: true });
    // "Copy the key" needs JavaScript: hidden without it (.button's
    // display had won over the hidden attribute).
    await plain.goto(base + '/encrypt');
    await encryptNewKey(plain);
    ok(!(await plain.locator('#copy-key').isVisible()) && await plain.locator('#download-key').isVisible(),
      'without JavaScript the result has no Copy button, only the key and "Save the key as a file"');
    await plain.close();
    // Leaving a new key unsaved asks first: the cipher image downloaded,
    // then "Encrypt another image", and the only key was gone (a review).
    // Saved, it goes without a question.
    {
      const guard = await context.newPage();
      await guard.goto(base + '/encrypt');
      await encryptNewKey(guard);
      const asked = [];
      guard.on('dialog', (d) => { asked.push(d.type()); d.dismiss().catch(() => {}); });
      const [cipherDl] = await Promise.all([guard.waitForEvent('download'), guard.click('#download')]);
      await cipherDl.delete();
      await guard.click('p.next a[href="/encrypt"]', { noWaitAfter: true });
      // the question, or the form (no question asked) at most 5 s later
      for (let i = 0; i < 50 && asked.length === 0 && (await guard.locator('#encrypt-form').count()) === 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      const stayed = (await guard.locator('#key-text').count()) === 1;
      ok(asked.join() === 'beforeunload' && stayed,
        'leaving the page of an unsaved new key asks first, and staying keeps the key', JSON.stringify([asked, stayed]));
      const [keyDl] = await Promise.all([guard.waitForEvent('download'), guard.click('#download-key')]);
      await keyDl.delete();
      await Promise.all([guard.waitForSelector('#encrypt-form'), guard.click('p.next a[href="/encrypt"]')]);
      ok(asked.length === 1, 'once the key is saved, the page is left without a question', JSON.stringify(asked));
      await guard.close();
    }
    // A cipher image over 1 MiB is in the page once, as its download: the
    // preview shows those bytes.
    {
      const big = path.join(tmp, 'big.pgm');
      const px = Buffer.alloc(1100 * 1000);
      for (let i = 0; i < px.length; i++) px[i] = (i * 2654435761) >>> 24;
      fs.writeFileSync(big, Buffer.concat([Buffer.from('P5\n1100 1000\n255\n'), px]));
      await page.goto(base + '/encrypt');
      await page.setInputFiles('#image', big);
      await page.locator('#existing-key summary').click();
      await page.fill('#key', key);
      await Promise.all([page.waitForURL(base + '/encrypt'), page.click('button[type=submit]')]);
      await page.waitForSelector('#cipher-preview', { state: 'attached' });
      await page.waitForFunction(() => {
        const img = document.getElementById('cipher-preview');
        return img && img.complete && img.naturalWidth > 0;
      }, null, { timeout: 10000 }).catch(() => {});
      const shown = await page.locator('#cipher-preview').evaluate((img) => ({
        w: img.naturalWidth, visible: !img.hidden && img.getBoundingClientRect().width > 0,
        blob: img.src.startsWith('blob:') }));
      ok(shown.w === 1100 && shown.visible && shown.blob,
        'a cipher image over 1 MiB: its preview shows the download\'s bytes', JSON.stringify(shown));
    }

    // On a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(base + '/encrypt');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    ok(!overflow, 'the encrypt page fits a phone screen (no horizontal scrolling)');
    await page.screenshot({ path: path.join(shots, 'encrypt-phone.png'), fullPage: true });
    // The analysis page (when the build has the analysis library).
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(base + '/analyze');
    if (await page.locator('#analyze-form').count()) {
      await page.setInputFiles('#image', path.join(testdata, 'png', 'ct_512_8bit.png'));
      await page.screenshot({ path: path.join(shots, 'analyze.png'), fullPage: true });
      await Promise.all([page.waitForURL(base + '/analyze'), page.click('button[type=submit]')]);
      await page.waitForSelector('#analysis-report', { timeout: 60000 });
      const plots = await page.locator('#analysis-report svg').count();
      ok(plots > 0, `the analysis report shows its plots (${plots})`);
      // The documents the report cites are links the reader can follow
      // ("docs/METRICS.md" named a file out of reach: a review).
      const cited = await page.locator('#analysis-report a[href^="/docs/"]')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      const docPage = await page.context().newPage();
      const texts = [];
      for (const href of cited) {
        const resp = await docPage.goto(base + href);
        texts.push(resp.status() === 200 ? (await docPage.textContent('body')).slice(0, 12) : resp.status());
      }
      await docPage.close();
      ok(cited.join(' ') === '/docs/SECURITY.md /docs/METRICS.md' &&
         texts.every((t) => t === '# medcrypt: '),
      'the report links docs/SECURITY.md and docs/METRICS.md, which open as text', JSON.stringify([cited, texts]));
      // The report to keep, as a file: the whole page with its style,
      // which opens on its own (no request to the server).
      const [dlr] = await Promise.all([page.waitForEvent('download'), page.click('#download-report')]);
      const reportPath = path.join(tmp, 'report.html');
      await dlr.saveAs(reportPath);
      const saved = fs.readFileSync(reportPath, 'utf8');
      ok(dlr.suggestedFilename() === 'ct_512_8bit.png.report.html' && saved.startsWith('<!DOCTYPE html>') &&
         saved.includes('<style>') && (saved.match(/<svg/g) || []).length === plots,
        'the report saves as ct_512_8bit.png.report.html, whole, with its plots', dlr.suggestedFilename());
      // Printed from a dark screen: black on white (the dark scheme's
      // light grey text went onto white paper), no header, footer or
      // buttons.
      await page.emulateMedia({ media: 'print', colorScheme: 'dark' });
      const printed = await page.evaluate(() => {
        const shown = (sel) => [...document.querySelectorAll(sel)].some((e) => e.getClientRects().length > 0);
        return { fg: getComputedStyle(document.body).color, bg: getComputedStyle(document.body).backgroundColor,
                 chrome: shown('header.site') || shown('footer.site') || shown('#download-report') };
      });
      ok(printed.fg === 'rgb(0, 0, 0)' && printed.bg === 'rgb(255, 255, 255)' && !printed.chrome,
        'printed from the dark scheme: black on white, without the site\'s header, footer and buttons',
        JSON.stringify(printed));
      // ... and no table cut at the paper's edge: nothing around a table
      // clips it (the report's scroll box cut the stages' table on A4: a
      // review); a table wider than the paper is shrunk with the page.
      await page.setViewportSize({ width: 740, height: 1000 });
      const clipped = await page.evaluate(() => [...document.querySelectorAll('#analysis-report table')]
        .filter((t) => { for (let e = t.parentElement; e; e = e.parentElement)
          if (getComputedStyle(e).overflowX !== 'visible') return true;
          return false; }).length);
      ok(clipped === 0, 'printed, no table of the report is in a box that clips it', `${clipped} tables`);
      await page.setViewportSize({ width: 1280, height: 860 });
      await page.emulateMedia({ media: 'screen', colorScheme: 'light' });
      // The top of the report (histograms, scatter plots): the whole page is very long.
      await page.setViewportSize({ width: 1280, height: 1500 });
      await page.screenshot({ path: path.join(shots, 'analyze-report.png') });
      // Every table's box ends inside the report on a desktop and on a
      // phone (a wider table scrolls in it), so no column is cut off; each
      // box is a named region a keyboard can scroll, and each table is
      // still a table (display: table keeps its semantics).
      for (const width of [1280, 390, 375]) {
        await page.setViewportSize({ width, height: 860 });
        const cut = await page.evaluate(() => {
          const report = document.getElementById('analysis-report').getBoundingClientRect();
          return [...document.querySelectorAll('#analysis-report .scroll')]
            .filter((t) => t.getBoundingClientRect().right > report.right + 1).length;
        });
        ok(cut === 0, `no table of the report runs past its edge at ${width} pixels`, `${cut} tables`);
        // A table wider than its box, scrolled half way: its first column
        // (what is measured) still in view, and in a table of verdicts its
        // last (pass or fail), each cell on top where it is shown (on a
        // phone the verdicts were out of view until a scroll: a review).
        const hidden = await page.evaluate(() => {
          const out = [];
          for (const box of document.querySelectorAll('#analysis-report .scroll')) {
            if (box.scrollWidth <= box.clientWidth) continue;
            box.scrollIntoView();
            box.scrollLeft = (box.scrollWidth - box.clientWidth) / 2;
            const edge = box.getBoundingClientRect();
            const verdicts = box.querySelector('table').classList.contains('verdicts');
            for (const row of box.querySelectorAll('tr')) {
              const cells = verdicts ? [row.firstElementChild, row.lastElementChild] : [row.firstElementChild];
              for (const cell of cells) {
                /* the row into the window's view: the box's own scroll is untouched */
                window.scrollBy(0, cell.getBoundingClientRect().top - window.innerHeight / 2);
                const r = cell.getBoundingClientRect();
                const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                if (r.left < edge.left - 1 || r.right > edge.right + 1 || !cell.contains(top))
                  out.push(`${box.getAttribute('aria-label').slice(0, 20)}: ${cell.textContent}`);
              }
            }
            box.scrollLeft = 0;
          }
          return out;
        });
        ok(hidden.length === 0, `scrolled, the report's tables keep their first column and verdicts in view at ${width} pixels`,
          hidden.slice(0, 4).join('; '));
        // Nor a plot into the report's padding (the histograms reached 6
        // pixels into it on a 375-pixel phone: found in review).
        const wide = await page.evaluate(() => {
          const el = document.getElementById('analysis-report');
          const style = getComputedStyle(el);
          const inner = el.getBoundingClientRect().right - parseFloat(style.paddingRight) -
            parseFloat(style.borderRightWidth);
          return [...el.querySelectorAll('figure')]
            .filter((f) => f.getBoundingClientRect().right > inner + 0.5).length;
        });
        ok(wide === 0, `no plot of the report reaches into its padding at ${width} pixels`, `${wide} plots`);
      }
      const boxes = await page.evaluate(() => [...document.querySelectorAll('#analysis-report table')]
        .map((t) => [t.parentElement.className, t.parentElement.getAttribute('role'),
          t.parentElement.tabIndex, getComputedStyle(t).display,
          t.parentElement.getAttribute('aria-label') === t.caption.textContent]));
      ok(boxes.length >= 6 && boxes.every(([c, r, ti, d, named]) =>
        c === 'scroll' && r === 'region' && ti === 0 && d === 'table' && named),
      'each table is a table in a named, focusable scroll region', JSON.stringify(boxes));
      await page.setViewportSize({ width: 1280, height: 860 });
    } else {
      ok(await page.locator('#analysis-unavailable').isVisible(), 'the analysis page says it is not available');
      await page.screenshot({ path: path.join(shots, 'analyze.png'), fullPage: true });
    }
    // Dark mode (prefers-color-scheme): every text on every page keeps
    // WCAG's 4.5:1 (3:1 when large) against the background it sits on.
    await page.emulateMedia({ colorScheme: 'dark' });
    const lowContrast = [];
    const contrastOf = () => page.evaluate(() => {
      const rgba = (c) => (c.match(/[\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => [r, g, b].map((v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      }).reduce((acc, v, i) => acc + v * [0.2126, 0.7152, 0.0722][i], 0);
      const bgOf = (el) => {
        for (let e = el; e; e = e.parentElement) {
          const c = rgba(getComputedStyle(e).backgroundColor);
          if (c.length >= 3 && (c.length < 4 || c[3] > 0)) return c;
        }
        return [255, 255, 255];
      };
      const bad = [];
      for (const el of document.querySelectorAll('body *')) {
        if (el.closest('svg') || !el.getClientRects().length) continue;
        const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        if (!own) continue;
        const st = getComputedStyle(el);
        if (st.visibility === 'hidden' || el.closest('.visually-hidden')) continue;
        const fg = lum(rgba(st.color)), bg = lum(bgOf(el));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
        const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
        if (ratio < need) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
      }
      return bad;
    });
    for (const [url, prep] of [
      ['/', null],
      ['/encrypt', async () => { await page.click('summary'); }],
      ['/decrypt', async () => { await page.click('button[type=submit]'); }],
      ['/analyze', async () => { await page.click('summary'); }],
      ['/encrypt', () => encryptNewKey(page)],
    ]) {
      await page.goto(base + url);
      if (prep) await prep();
      for (const b of await contrastOf()) lowContrast.push(`${url}: ${b}`);
    }
    ok(lowContrast.length === 0, 'dark mode: every text keeps 4.5:1 (3:1 large) on its background',
      lowContrast.slice(0, 5).join(' | '));
    await page.screenshot({ path: path.join(shots, 'encrypt-result-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });

    // Every page in each of its states, light and dark, as axe-core finds
    // it: its WCAG A/AA rules and best practices, no violation. The
    // server's own refusals are reached with the form's submit(), which
    // the page's script does not see (as without JavaScript).
    const serverSubmit = async () => {
      await Promise.all([page.waitForNavigation(),
        page.evaluate(() => HTMLFormElement.prototype.submit.call(document.querySelector('main form')))]);
    };
    const decryptWith = (k) => async () => {
      await page.setInputFiles('#cipher', cipher);
      await page.fill('#key', k);
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    };
    const states = [
      ['home', '/', null],
      ['encrypt', '/encrypt', null],
      ['encrypt, the browser\'s messages', '/encrypt', async () => {
        await page.fill('#aadhaar', '2345 6789 0125');
        await page.click('button[type=submit]');
      }],
      ['encrypt, the server\'s refusal', '/encrypt', async () => {
        await page.fill('#aadhaar', '2345 6789 0125');
        await serverSubmit();
      }],
      ['encrypt, the result', '/encrypt', () => encryptNewKey(page)],
      ['decrypt', '/decrypt', null],
      ['decrypt, the server\'s refusal', '/decrypt', serverSubmit],
      ['decrypt, a wrong key', '/decrypt', decryptWith(other)],
      ['decrypt, the result', '/decrypt', decryptWith(key)],
      ['analysis', '/analyze', null],
      ['analysis, the server\'s refusal', '/analyze', serverSubmit],
      ['analysis, the report', '/analyze', async () => {
        await page.setInputFiles('#image', path.join(testdata, 'png', 'ct_small_16bit.png'));
        await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      }],
      ['a missing page', '/no-such-page', null],
    ];
    await page.goto(base + '/analyze');
    if ((await page.locator('#analyze-form').count()) === 0) /* analysis off: its page says so */
      states.splice(states.findIndex(([w]) => w.startsWith('analysis,')), 2);
    // Light on a desktop, dark on a phone: each scheme and each layout
    // once (WCAG 2.2's target sizes are a phone's question).
    for (const [scheme, width] of [['light', 1280], ['dark', 360]]) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width, height: 860 });
      const found = [];
      for (const [what, url, prep] of states) {
        const before = consoleErrors.length;
        await page.goto(base + url);
        if (url === '/no-such-page') /* its own 404, expected: only that */
          consoleErrors.push(...consoleErrors.splice(before).filter((m) => !/status of 404 /.test(m)));
        if (prep) await prep();
        for (const v of await axeViolations(page)) found.push(`${what}: ${v}`);
      }
      ok(found.length === 0, `axe-core (${scheme}, ${width} px): no WCAG A/AA violation or best-practice failure on any ` +
        `of ${states.length} page states`, found.slice(0, 6).join(' | '));
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 860 });

    // While a form is sent its button says so, and a second press is
    // refused (a press during a slow upload posted it twice: a review):
    // the two presses in one task, the second's submit event cancelled.
    await page.goto(base + '/decrypt');
    await page.setInputFiles('#cipher', cipher);
    await page.fill('#key', key);
    const busy = await page.evaluate(() => {
      const b = document.querySelector('#decrypt-form button[type=submit]');
      const seen = [];
      document.getElementById('decrypt-form').addEventListener('submit', (ev) => seen.push(ev.defaultPrevented));
      b.click();
      const state = [b.textContent, b.getAttribute('aria-disabled')];
      b.click();
      return { state, seen };
    });
    await page.waitForSelector('#plain-preview');
    ok(busy.state[0] === 'Decrypting\u2026' && busy.state[1] === 'true' &&
       JSON.stringify(busy.seen) === '[false,true]',
      'while the form is sent its button says "Decrypting..." and a second press is refused',
      JSON.stringify(busy));

    // A file over the server's --max-upload is refused before sending.
    const small = await startServer(['--max-upload', '100000'], 'cwd-small');
    try {
      await page.goto(small.base + '/encrypt');
      await page.setInputFiles('#image', original);
      const sizeMsg = await page.locator('#image-error').textContent();
      ok(sizeMsg === 'The file is too large (256.0 KiB; this server accepts up to 93.7 KiB).',
        'a file over --max-upload is refused in the browser, both sizes said', sizeMsg);
      // Just over the limit, where both round alike, in bytes (it said
      // "1.0 MiB; up to 1.0 MiB": a review).
      await page.setInputFiles('#image', { name: 'near.pgm', mimeType: 'image/x-portable-graymap',
        buffer: Buffer.alloc(100000 - 4096 + 1, 7) });
      const nearMsg = await page.locator('#image-error').textContent();
      ok(nearMsg === 'The file is too large (95,905 bytes; this server accepts up to 95,904 bytes).',
        'a file just over --max-upload: the two sizes in bytes, not both "93.7 KiB"', nearMsg);
      // An empty file is said here, before the round trip that clears
      // what was typed (a review).
      await page.setInputFiles('#image', { name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) });
      const emptyMsg = await page.locator('#image-error').textContent();
      ok(emptyMsg === 'The chosen file is empty (0 bytes).', 'an empty file is refused in the browser', emptyMsg);
      // The analysis form's two files count together: the body is
      // refused whole (each fitted alone, and the server answered 413: a
      // review); a smaller second file takes the message back.
      await page.goto(small.base + '/analyze');
      await page.setInputFiles('#image', { name: 'a.pgm', mimeType: 'image/x-portable-graymap',
        buffer: Buffer.alloc(60000, 7) });
      await page.setInputFiles('#cipher', { name: 'a.pgm.enc.png', mimeType: 'image/png',
        buffer: Buffer.alloc(60000, 9) });
      const togetherMsg = await page.locator('#cipher-error').textContent();
      ok(togetherMsg === 'The files chosen are too large together (117.2 KiB; this server accepts up to 93.7 KiB in all).',
        'the analysis form: an image and a cipher image too large together are said so', togetherMsg);
      await page.setInputFiles('#cipher', { name: 'b.png', mimeType: 'image/png', buffer: Buffer.alloc(1000, 9) });
      ok((await page.locator('#cipher-error').textContent()) === '' &&
         (await page.locator('#image-error').textContent()) === '',
        'a smaller cipher image takes the message back', await page.locator('#cipher-error').textContent());
    } finally {
      small.child.kill('SIGTERM');
    }
    ok(consoleErrors.length === 0, 'no errors in the browser console (CSP included)', consoleErrors.join(' | '));
  } catch (e) {
    ok(false, 'the flow runs to the end', String(e).split('\n')[0]);
  } finally {
    await context.close();
    child.kill('SIGTERM');
    await new Promise((r) => { child.once('exit', r); setTimeout(r, 5000); });
    ok(child.exitCode === 0, 'the server stops cleanly', `exit ${child.exitCode}`);
    const left = fs.readdirSync(path.join(tmp, 'cwd'));
    ok(left.length === 0, "the server's working directory stays empty", left.join(' '));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main()
  .catch((e) => ok(false, 'the test runs', String(e)))
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
