/* medcrypt: a little JavaScript on top of pages that work without it.
 * Checks the Aadhaar number and the date of birth before sending (the
 * server checks them again), copies the key, and turns large data: URL
 * downloads into blob: URLs (browsers limit data: URL navigation). */
'use strict';
(function () {
  // Verhoeff tables (the Aadhaar check digit).
  var D = [
    [0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],
    [4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],
    [8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]];
  var P = [
    [0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],
    [9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]];

  function verhoeffValid(digits) {
    var c = 0;
    for (var i = 0; i < digits.length; i++) {
      c = D[c][P[i % 8][digits.charCodeAt(digits.length - 1 - i) - 48]];
    }
    return c === 0;
  }

  // The same rules and messages as the library (mc_aadhaar_check).
  function aadhaarProblem(value) {
    var digits = value.replace(/[ -]/g, '');
    if (/[^0-9]/.test(digits)) return 'Aadhaar number may hold only digits, spaces and hyphens.';
    if (!/^[0-9]{12}$/.test(digits)) return 'Aadhaar number must be 12 digits (spaces and hyphens allowed).';
    if (digits[0] === '0' || digits[0] === '1') return 'Aadhaar number cannot start with 0 or 1.';
    if (!verhoeffValid(digits)) return 'Aadhaar number fails its check digit (a digit is mistyped, or two are swapped).';
    return '';
  }

  // Today where the date is furthest ahead (UTC+14), as mc_dob_check: a
  // date that has begun anywhere is not in the future.
  function today() {
    var d = new Date(Date.now() + 14 * 3600 * 1000);
    return d.getUTCFullYear() + '-' + String(d.getUTCMonth() + 1).padStart(2, '0') + '-' +
      String(d.getUTCDate()).padStart(2, '0');
  }

  // The same rules and messages as the library (mc_dob_check).
  function dobProblem(value) {
    var m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value);
    if (!m) return 'Date of birth must be written YYYY-MM-DD.';
    var y = +m[1], mo = +m[2], d = +m[3];
    var dim = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1]) return 'Date of birth is not a real calendar date.';
    if (value < '1900-01-01') return 'Date of birth is before 1900-01-01.';
    if (value > today()) return 'Date of birth is in the future.';
    return '';
  }

  function show(input, message) {
    var out = document.getElementById(input.id + '-error');
    if (out) out.textContent = message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  function setupEncrypt(form) {
    var aadhaar = form.querySelector('#aadhaar');
    var dob = form.querySelector('#dob');
    var key = form.querySelector('#key');
    var keyfile = form.querySelector('#keyfile');
    var image = form.querySelector('#image');
    if (dob) dob.max = today();
    function usingKey() {
      return (key && key.value.trim() !== '') ||
             (keyfile && keyfile.files && keyfile.files.length > 0);
    }
    function check(input, fn) {
      if (usingKey()) { show(input, ''); return true; }
      var v = input.value.trim();
      // A date field holding an impossible date (31 February) reads as
      // empty; its validity says the user did type something.
      if (v === '' && input.validity && input.validity.badInput) {
        show(input, 'Date of birth is incomplete or not a real calendar date.');
        return false;
      }
      var msg = v === '' ? (input === aadhaar ? 'Enter the patient\'s Aadhaar number (or an existing key).'
                                              : 'Enter the patient\'s date of birth (or an existing key).')
                         : fn(v);
      show(input, msg);
      return msg === '';
    }
    // Not when the focus leaves for the Encrypt button: the message would
    // push the button down between the press and the release, and the
    // click (with the check of every field) would be lost. The submit
    // handler checks the number then anyway.
    var submit = form.querySelector('button[type=submit]'), pressing = false;
    if (submit) {
      submit.addEventListener('pointerdown', function (ev) { if (ev.button === 0) pressing = true; });
      document.addEventListener('pointerup', function () { setTimeout(function () { pressing = false; }, 0); });
      document.addEventListener('pointercancel', function () { pressing = false; });
    }
    aadhaar.addEventListener('blur', function (ev) {
      if (pressing || (submit && ev.relatedTarget === submit)) return;
      if (aadhaar.value.trim()) check(aadhaar, aadhaarProblem);
    });
    aadhaar.addEventListener('input', function () { if (aadhaar.getAttribute('aria-invalid')) check(aadhaar, aadhaarProblem); });
    dob.addEventListener('change', function () {
      if (dob.value || (dob.validity && dob.validity.badInput)) check(dob, dobProblem);
    });
    // An impossible or partly typed date leaves the value empty and fires
    // no change: said when the field is left, as the number is (it waited
    // for Encrypt: a review).
    dob.addEventListener('blur', function (ev) {
      if (pressing || (submit && ev.relatedTarget === submit)) return;
      if (dob.validity && dob.validity.badInput) check(dob, dobProblem);
    });
    form.addEventListener('submit', function (ev) {
      var ok = true, first = null;
      if (!image.files || image.files.length === 0) {
        show(image, 'Choose an image file to encrypt.'); ok = false; first = image;
      } else show(image, '');
      if (!check(aadhaar, aadhaarProblem)) { ok = false; first = first || aadhaar; }
      if (!check(dob, dobProblem)) { ok = false; first = first || dob; }
      if (!ok) { ev.preventDefault(); first.focus(); }
    });
  }

  function setupAnalyze(form) {
    var image = form.querySelector('#image');
    form.addEventListener('submit', function (ev) {
      if (!image.files || image.files.length === 0) {
        show(image, 'Choose an image file to analyze.');
        ev.preventDefault();
        image.focus();
      } else show(image, '');
    });
  }

  function setupDecrypt(form) {
    var key = form.querySelector('#key');
    var keyfile = form.querySelector('#keyfile');
    var cipher = form.querySelector('#cipher');
    form.addEventListener('submit', function (ev) {
      var first = null;
      if (!cipher.files || cipher.files.length === 0) {
        show(cipher, 'Choose the cipher image to decrypt.'); first = cipher;
      } else show(cipher, '');
      if (key.value.trim() === '' && !(keyfile && keyfile.files && keyfile.files.length)) {
        show(key, 'Enter the key, or choose the key file.'); first = first || key;
      } else show(key, '');
      if (first) { ev.preventDefault(); first.focus(); }
    });
  }

  // The server refuses bodies over --max-upload (413) before reading them,
  // which a browser may show as a broken connection: say it here first.
  // An empty file too, which the server refuses after a round trip that
  // clears what was typed (a review).
  // The form's files count together: the body is refused whole, and the
  // analysis form sends the image and its cipher image (a review).
  var TOGETHER = 'The files chosen are too large together';
  function sizeProblem(form, input) {
    var f = input.files && input.files[0];
    if (!f) return '';
    if (f.size === 0) return 'The chosen file is empty (0 bytes).';
    var max = Number(form.getAttribute('data-max-upload') || 0), room = max - 4096;
    if (!max) return '';
    var total = 0, all = form.querySelectorAll('input[type=file]');
    for (var i = 0; i < all.length; i++) {
      var g = all[i].files && all[i].files[0];
      if (g) total += g.size;
    }
    if (total <= room) return '';
    var human = function (n) {
      return n >= 1048576 ? (n / 1048576).toFixed(1) + ' MiB'
        : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB' : n + ' bytes';
    };
    var a = human(total), b = human(room);
    // Rounded alike just over the limit ("1.0 MiB; up to 1.0 MiB": a
    // review): in bytes then.
    if (a === b) { a = total.toLocaleString('en') + ' bytes'; b = room.toLocaleString('en') + ' bytes'; }
    return total === f.size ? 'The file is too large (' + a + '; this server accepts up to ' + b + ').'
                            : TOGETHER + ' (' + a + '; this server accepts up to ' + b + ' in all).';
  }

  function setupSizeCheck(form) {
    var inputs = form.querySelectorAll('input[type=file]');
    for (var i = 0; i < inputs.length; i++) {
      (function (input) {
        input.addEventListener('change', function () {
          show(input, sizeProblem(form, input));
          // another file's "too large together" may no longer hold
          for (var j = 0; j < inputs.length; j++) {
            var out = document.getElementById(inputs[j].id + '-error');
            if (inputs[j] !== input && out && out.textContent.indexOf(TOGETHER) === 0)
              show(inputs[j], sizeProblem(form, inputs[j]));
          }
        });
        form.addEventListener('submit', function (ev) {
          var msg = sizeProblem(form, input);
          if (msg) { show(input, msg); ev.preventDefault(); input.focus(); }
        });
      })(inputs[i]);
    }
  }

  // A key typed from paper or another screen: its 71 characters can be
  // shown to check them (hidden by default: someone may be watching).
  function setupShowKey(input) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'button show-key';
    b.textContent = 'Show the key';
    b.setAttribute('aria-pressed', 'false');
    b.setAttribute('aria-controls', input.id);
    b.addEventListener('click', function () {
      var show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      b.setAttribute('aria-pressed', show ? 'true' : 'false');
    });
    input.parentNode.insertBefore(b, input.nextSibling);
  }

  // A new key shown once and kept nowhere: leaving its page before it is
  // saved, copied or printed asks first. Downloading the cipher image and
  // going on to "Encrypt another image" lost the only way to decrypt it.
  // The browser asks in its own words, and only once the user has done
  // something on the page (a click, a key): a page left untouched goes.
  var keyKept = true;

  function setupKeyGuard(key) {
    function keep() { keyKept = true; }
    keyKept = false;
    var save = document.getElementById('download-key');
    if (save) save.addEventListener('click', keep);
    window.addEventListener('afterprint', keep);
    // selected and copied by hand (Copy's own success counts in setupCopy)
    document.addEventListener('copy', function () {
      var sel = window.getSelection();
      if (sel && sel.rangeCount > 0 && key.contains(sel.getRangeAt(0).commonAncestorContainer)) keep();
    });
    window.addEventListener('beforeunload', function (ev) {
      if (keyKept) return;
      ev.preventDefault();
      ev.returnValue = ''; /* older browsers ask only with this set */
    });
  }

  function setupCopy(button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    var status = document.getElementById('copy-status');
    button.hidden = false;
    button.addEventListener('click', function () {
      var text = target.textContent.trim();
      function done(ok) {
        if (ok) keyKept = true;
        if (status) status.textContent = ok ? 'Copied.' : 'Select the key and copy it by hand.';
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      } else {
        var range = document.createRange();
        range.selectNodeContents(target);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        var ok = false;
        try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
        done(ok);
      }
    });
  }

  // Once the browser sends the form (every check above passed), its
  // button says the work is under way and a second press sends nothing:
  // an upload over a clinic's link takes seconds, and a second press posted
  // it again (a review). Back to the page from the browser's cache gives
  // the button back. Registered after the checks, so it sees their verdict.
  function setupBusy(form) {
    var button = form.querySelector('button[type=submit]');
    if (!button) return;
    var label = button.textContent;
    form.addEventListener('submit', function (ev) {
      if (ev.defaultPrevented) return;
      if (button.getAttribute('aria-disabled') === 'true') { ev.preventDefault(); return; }
      button.setAttribute('aria-disabled', 'true');
      button.textContent = label.replace(/e$/, '') + 'ing\u2026'; /* Analyze: Analyzing... */
    });
    window.addEventListener('pageshow', function () {
      button.removeAttribute('aria-disabled');
      button.textContent = label;
    });
  }

  function dataUrlToBlobUrl(a) {
    var href = a.getAttribute('href') || '';
    var m = /^data:([^;,]+);base64,/.exec(href);
    if (!m) return;
    try {
      var bin = atob(href.slice(m[0].length));
      var bytes = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      a.href = URL.createObjectURL(new Blob([bytes], { type: m[1] }));
    } catch (e) { /* keep the data: URL */ }
  }

  document.addEventListener('DOMContentLoaded', function () {
    var enc = document.getElementById('encrypt-form');
    if (enc) setupEncrypt(enc);
    var dec = document.getElementById('decrypt-form');
    if (dec) setupDecrypt(dec);
    var ana = document.getElementById('analyze-form');
    if (ana) setupAnalyze(ana);
    // A form that came back from the server with its problems: the
    // summary takes the focus, so a screen reader reads it first (an
    // alert already in the page when it loads is often not announced).
    var summary = document.getElementById('form-error');
    if (summary) summary.focus();
    var forms = document.querySelectorAll('form[data-max-upload]');
    for (var k = 0; k < forms.length; k++) setupSizeCheck(forms[k]);
    var keyInputs = document.querySelectorAll('input[type=password][name=key]');
    for (var n = 0; n < keyInputs.length; n++) setupShowKey(keyInputs[n]);
    var newKey = document.getElementById('key-text');
    if (newKey) setupKeyGuard(newKey);
    var buttons = document.querySelectorAll('button[data-copy]');
    for (var i = 0; i < buttons.length; i++) setupCopy(buttons[i]);
    for (var b = 0; b < forms.length; b++) setupBusy(forms[b]);
    var links = document.querySelectorAll('a[data-blob]');
    for (var j = 0; j < links.length; j++) dataUrlToBlobUrl(links[j]);
    // A large cipher image is in the page once, as its download: its
    // preview shows the same bytes (pages.c, PREVIEW_COPY_MAX).
    var shared = document.querySelectorAll('img[data-src-of]');
    for (var q = 0; q < shared.length; q++) {
      var from = document.getElementById(shared[q].getAttribute('data-src-of'));
      if (from) { shared[q].src = from.href; shared[q].hidden = false; }
    }
    // A new key is shown once, with its cipher image. Reloading the page
    // would post the form again: a second key and a second cipher image,
    // and a key copied from one with the image saved from the other never
    // decrypts. Forget the post: a reload shows the empty form instead.
    // The decryption's and the analysis's results too: there Back then
    // Forward showed the browser's "Confirm Form Resubmission" error page
    // (a review), and a reload would send the image again. A form the
    // server refused too: Back then Forward gave that page, and a reload
    // posted the files, the Aadhaar number and the date of birth again
    // (a second review).
    if ((document.getElementById('key-text') || document.getElementById('download') ||
         document.getElementById('analysis-report') || document.getElementById('form-error')) &&
        window.history && history.replaceState)
      history.replaceState(null, '', window.location.href);
  });
})();
