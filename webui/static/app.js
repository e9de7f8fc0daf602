// smsgw web UI: progressive enhancement of the server-rendered pages.
//
// Safety rule: nothing here builds HTML from data. Text goes in with textContent; the
// only markup inserted comes from the server's own html/template fragments (where every
// SMS-derived string is already escaped), parsed with DOMParser, which never runs
// scripts (and the CSP forbids inline script anyway).
import { count, replaceLookalikes, LOOKALIKES, describe } from "./counter.js";

window.smsgwCount = count; // used by the browser tests of the counter

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// ---- helpers -------------------------------------------------------------------

function toast(text, kind = "info") {
  const box = $("#toasts");
  if (!box) return;
  const t = document.createElement("div");
  t.className = "toast " + kind;
  t.textContent = text;
  box.append(t);
  setTimeout(() => t.remove(), kind === "error" ? 8000 : 3500);
}

async function get(url) {
  const r = await fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
  if (r.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error("signed out");
  }
  if (!r.ok) throw new Error(await r.text());
  return r;
}

async function post(url, params) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf },
    body: params,
    credentials: "same-origin",
  });
  return r;
}

// swap replaces el's children with a server-rendered, already escaped fragment.
function swap(el, html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  el.replaceChildren(...doc.body.childNodes);
}

function formParams(form, submitter) {
  const fd = new FormData(form, submitter || undefined);
  return new URLSearchParams(fd);
}

function debounce(fn, ms) {
  let t;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}

function randomKey() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// ---- inbox state ------------------------------------------------------------------

const inbox = $("#inbox");
const panes = $("#panes");
const view = () => inbox?.dataset.view || "";
const openIds = () => $$(".conv", panes || document).map((a) => a.dataset.id);

function listURL() {
  const ids = openIds();
  return "/ui/list?" + view() + (ids.length ? "&active=" + ids[ids.length - 1] : "");
}

async function refreshList() {
  if (!inbox) return;
  const list = $("#list");
  const [l, f] = await Promise.all([get(listURL()), get("/ui/folders?" + view())]);
  swap(list, await l.text());
  swap($("#folders"), await f.text());
  markActive();
}

function markActive() {
  const ids = new Set(openIds());
  $$("#list .row").forEach((r) => r.classList.toggle("active", ids.has(r.dataset.id)));
}

async function refreshPane(id) {
  const live = $(`.conv[data-id="${CSS.escape(String(id))}"] .live`, panes || document);
  if (!live) return;
  const thread = $(".thread", live);
  const atBottom = !thread || thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
  const r = await get("/ui/c/" + id + "/thread?" + view());
  swap(live, await r.text());
  enhance(live);
  const t = $(".thread", live);
  if (t && atBottom) t.scrollTop = t.scrollHeight;
  updateWindowCounter(live.closest(".conv"));
}

async function openConversation(id, { beside = false, push = true } = {}) {
  if (!panes) {
    location.href = "/inbox/c/" + id;
    return;
  }
  const existing = $(`.conv[data-id="${CSS.escape(String(id))}"]`, panes);
  if (existing) {
    existing.scrollIntoView({ block: "nearest", inline: "nearest" });
    $(".js-body", existing)?.focus();
    return;
  }
  const r = await get("/ui/c/" + id + "?" + view());
  const holder = document.createElement("div");
  swap(holder, await r.text());
  const art = $(".conv", holder);
  if (!art) return;
  $("#empty-pane")?.remove();
  const convs = $$(".conv", panes);
  const unpinned = convs.filter((c) => !c.classList.contains("pinned"));
  if (beside || unpinned.length === 0) {
    if (convs.length >= 3) convs[0].remove();
    panes.append(art);
  } else {
    unpinned[unpinned.length - 1].replaceWith(art);
  }
  inbox.classList.add("has-panel");
  panes.dataset.count = String($$(".conv", panes).length);
  enhance(art);
  const t = $(".thread", art);
  if (t) t.scrollTop = t.scrollHeight;
  if (push) history.pushState({ id }, "", "/inbox/c/" + id + (view() ? "?" + view() : ""));
  markActive();
  refreshCounts();
}

function closePane(art) {
  art.remove();
  const left = $$(".conv", panes);
  panes.dataset.count = String(left.length);
  if (left.length === 0) {
    inbox.classList.remove("has-panel");
    const e = document.createElement("div");
    e.className = "empty";
    e.id = "empty-pane";
    const p = document.createElement("p");
    p.textContent = "Select a conversation.";
    e.append(p);
    panes.append(e);
    history.pushState({}, "", "/inbox" + (view() ? "?" + view() : ""));
  }
  markActive();
}

// ---- forms ------------------------------------------------------------------------

async function submitAjax(form, submitter) {
  const action = submitter?.getAttribute("formaction") || form.getAttribute("action");
  const r = await post(action, formParams(form, submitter));
  if (!r.ok) {
    toast(await r.text(), "error");
    return false;
  }
  const after = form.dataset.after;
  const conv = form.closest(".conv");
  if (after === "open") {
    $("#bell")?.removeAttribute("open");
    await openConversation(form.dataset.conv);
  } else if (after === "unread" && conv) {
    closePane(conv);
  } else if (form.dataset.refresh === "none") {
    // nothing to redraw
  } else if (conv) {
    await refreshPane(conv.dataset.id);
  }
  if (form.closest("#bell")) loadAlerts();
  refreshList().catch(() => {});
  refreshCounts();
  return true;
}

// ---- composer ---------------------------------------------------------------------

function updateCounter(form) {
  const ta = $(".js-body", form);
  const max = Number(form.dataset.max) || 550;
  const c = count(ta.value);
  const chars = ta.value.length === 0 ? 0 : c.characters;
  $(".cnt-chars", form).textContent = `${chars}/${max}`;
  $(".cnt-segs", form).textContent = `${chars === 0 ? 0 : c.segments} SMS`;
  $(".cnt-enc", form).textContent = c.encoding === "gsm7" ? "GSM-7" : "Unicode (UCS-2)";
  $(".cnt-left", form).textContent = `${c.unitsLeft} left`;
  form.dataset.segments = String(c.segments);
  form.dataset.encoding = c.encoding;
  const warn = $(".cnt-warn", form);
  const over = chars > max;
  if (over) {
    warn.hidden = false;
    warn.textContent = ` · ${chars - max} over the limit`;
  } else if (chars > 0 && c.unitsLeft <= 10) {
    warn.hidden = false;
    warn.textContent = ` · ${c.unitsLeft === 0 ? "the next character" : c.unitsLeft + " more"} starts SMS ${c.segments + 1}`;
  } else {
    warn.hidden = true;
    warn.textContent = "";
  }
  form.classList.toggle("over", over);
  form.classList.toggle("near", !over && chars > 0 && c.unitsLeft <= 10);
  const uni = $(".unicode", form);
  uni.hidden = c.encoding === "gsm7";
  $(".cnt-forcing", form).textContent = c.forcing.map(describe).join(", ");
  $(".js-fix", form).hidden = !c.forcing.some((ch) => Object.hasOwn(LOOKALIKES, ch));
  const send = $(".js-send", form);
  if (send) send.disabled = over;
}

function updateWindowCounter(art) {
  if (!art) return;
  const n = Number($(".window-count", art)?.dataset.sent || 0);
  const el = $(".window-counter", art);
  const form = $(".js-compose", art);
  if (!el || !form) return;
  const hours = (el.textContent.match(/\/ (\d+) h/) || [])[1] || "24";
  el.textContent = `${n} sent / ${hours} h`;
  el.classList.toggle("red", n >= Number(form.dataset.warn || 5));
}

async function submitCompose(form, submitter) {
  const ta = $(".js-body", form);
  if (!ta.value.trim()) {
    ta.focus();
    return;
  }
  const isNote = submitter?.classList.contains("js-note");
  if (!isNote) {
    const c = count(ta.value);
    const segs = c.segments;
    if (segs >= 3 && !form.dataset.confirmedSegs) {
      if (!window.confirm(`This message goes out as ${segs} SMS. Send it?`)) return;
    }
  }
  const action = submitter?.getAttribute("formaction") || form.getAttribute("action");
  const params = formParams(form, submitter);
  const r = await post(action, params);
  if (r.status === 409 && r.headers.get("X-Confirm") === "reply") {
    if (window.confirm(await r.text())) {
      $(".js-force", form).value = "1";
      await submitCompose(form, submitter);
      $(".js-force", form).value = "";
    }
    return;
  }
  if (!r.ok) {
    toast(await r.text(), "error");
    return;
  }
  ta.value = "";
  $(".js-key", form).value = randomKey();
  updateCounter(form);
  toast(isNote ? "Note added." : "Sent.", "ok");
  await refreshPane(form.dataset.conv);
  refreshList().catch(() => {});
}

// renderQuick fills a quick reply's variables (asking for its fields) and returns
// its text, or null when the agent cancelled.
async function renderQuick(conv, opt) {
  const params = new URLSearchParams();
  for (const f of (opt.dataset.fields || "").split(",").filter(Boolean)) {
    const v = window.prompt(`Value for ${f}:`);
    if (v === null) return null;
    params.set("field." + f, v);
  }
  const r = await get(`/ui/c/${conv}/quick/${opt.value}?` + params);
  return (await r.json()).body;
}

async function pickQuick(sel) {
  const opt = sel.selectedOptions[0];
  if (!opt || !opt.value) return;
  const form = sel.closest("form");
  try {
    const body = await renderQuick(sel.dataset.conv, opt);
    if (body !== null) {
      const ta = $(".js-body", form);
      ta.value = ta.value ? ta.value + (ta.value.endsWith(" ") ? "" : " ") + body : body;
      updateCounter(form);
      ta.focus();
    }
  } catch (e) {
    toast(e.message, "error");
  }
  sel.value = "";
}

// ---- "/" shortcuts: typing /shortcut in the composer offers matching quick
// replies; Tab or Enter inserts the highlighted one, arrows move, Escape closes.

function slashToken(ta) {
  const upto = ta.value.slice(0, ta.selectionStart);
  const m = upto.match(/(^|\s)\/([\w.-]*)$/);
  return m ? { start: upto.length - m[2].length - 1, word: m[2].toLowerCase() } : null;
}

function slashMatches(form, word) {
  return $$(".js-quick option", form).filter((o) => o.value && (o.dataset.shortcut || "").toLowerCase().startsWith(word));
}

function closeSlash(form) {
  const box = $(".qr-suggest", form);
  if (box) box.remove();
  delete form.dataset.slash;
}

function updateSlash(form) {
  const ta = $(".js-body", form);
  const tok = slashToken(ta);
  const list = tok ? slashMatches(form, tok.word) : [];
  if (!list.length) {
    closeSlash(form);
    return;
  }
  let box = $(".qr-suggest", form);
  if (!box) {
    box = document.createElement("ul");
    box.className = "qr-suggest";
    box.setAttribute("role", "listbox");
    box.setAttribute("aria-label", "Quick replies");
    ta.insertAdjacentElement("afterend", box);
  }
  const active = Math.min(Number(form.dataset.slash || 0), list.length - 1);
  form.dataset.slash = String(active);
  box.replaceChildren(
    ...list.map((o, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.id = o.value;
      li.textContent = o.textContent;
      if (i === active) {
        li.className = "active";
        li.setAttribute("aria-selected", "true");
      }
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        form.dataset.slash = String(i);
        insertSlash(form);
      });
      return li;
    }),
  );
}

async function insertSlash(form) {
  const ta = $(".js-body", form);
  const tok = slashToken(ta);
  const list = tok ? slashMatches(form, tok.word) : [];
  const opt = list[Number(form.dataset.slash || 0)];
  closeSlash(form);
  if (!opt) return;
  try {
    const body = await renderQuick(form.dataset.conv, opt);
    if (body === null) return;
    const end = ta.selectionStart;
    ta.value = ta.value.slice(0, tok.start) + body + ta.value.slice(end);
    const at = tok.start + body.length;
    ta.setSelectionRange(at, at);
    updateCounter(form);
    ta.focus();
  } catch (e) {
    toast(e.message, "error");
  }
}

function slashKey(form, e) {
  if (!form.dataset.slash) return false;
  const n = $$(".qr-suggest li", form).length;
  const cur = Number(form.dataset.slash || 0);
  switch (e.key) {
    case "ArrowDown":
    case "ArrowUp":
      form.dataset.slash = String((cur + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
      updateSlash(form);
      break;
    case "Tab":
    case "Enter":
      if (e.ctrlKey || e.metaKey) return false;
      insertSlash(form);
      break;
    case "Escape":
      closeSlash(form);
      break;
    default:
      return false;
  }
  e.preventDefault();
  return true;
}

async function sendTest(form) {
  const num = $(".js-testnum", form).value.trim();
  const body = $(".js-body", form).value;
  if (!num) {
    toast("Enter your own number first.", "error");
    return;
  }
  localStorage.setItem("smsgw.testNumber", num);
  const p = new URLSearchParams({ csrf, number: num, body, key: randomKey(), back: location.pathname });
  const line = $(".js-line", form)?.value;
  if (line) p.set("line", line);
  const r = await post("/inbox/test", p);
  if (!r.ok) toast(await r.text(), "error");
  else toast("Test message queued to " + num + ".", "ok");
}

// ---- thread filters ---------------------------------------------------------------

const FILTERS = ["in", "out", "note", "activity", "finish"];

function applyFilters(root) {
  const hidden = JSON.parse(localStorage.getItem("smsgw.hide") || "[]");
  $$(".thread-wrap", root).forEach((w) => {
    for (const f of FILTERS) w.classList.toggle("hide-" + f, hidden.includes(f));
    $$(".js-filter", w).forEach((cb) => (cb.checked = !hidden.includes(cb.value)));
  });
}

// ---- enhance a subtree ------------------------------------------------------------

function enhance(root) {
  $$(".js-compose", root).forEach((form) => {
    if (form.dataset.enhanced) return;
    form.dataset.enhanced = "1";
    const ta = $(".js-body", form);
    ta.addEventListener("input", () => {
      updateCounter(form);
      updateSlash(form);
    });
    ta.addEventListener("blur", () => setTimeout(() => closeSlash(form), 150));
    ta.addEventListener("keydown", (e) => {
      if (slashKey(form, e)) return;
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit($(".js-send", form));
      }
    });
    $(".js-fix", form)?.addEventListener("click", () => {
      ta.value = replaceLookalikes(ta.value);
      updateCounter(form);
      ta.focus();
    });
    $(".js-quick", form)?.addEventListener("change", (e) => pickQuick(e.target));
    const tn = $(".js-testnum", form);
    if (tn) tn.value = localStorage.getItem("smsgw.testNumber") || "";
    $(".js-test", form)?.addEventListener("click", () => sendTest(form));
    updateCounter(form);
  });
  applyFilters(root);
}

// ---- live updates ------------------------------------------------------------------

let unseen = 0;
let flashTimer = null;
const baseTitle = document.title;

function prefs() {
  return {
    sound: localStorage.getItem("smsgw.sound") === "1",
    flash: localStorage.getItem("smsgw.flash") !== "0",
  };
}

function beep() {
  try {
    const ctx = new AudioContext();
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.08, ctx.currentTime);
    g.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    o.connect(g).connect(ctx.destination);
    o.start();
    o.stop(ctx.currentTime + 0.26);
  } catch {
    /* no audio */
  }
}

function attention() {
  if (prefs().sound) beep();
  if (!document.hidden || !prefs().flash) return;
  unseen++;
  if (flashTimer) return;
  let on = false;
  flashTimer = setInterval(() => {
    on = !on;
    document.title = on ? `● ${unseen} new · smsgw` : titleWithCount();
  }, 1000);
}

let lastCounts = { unread: 0, unowned: 0, alerts: 0 };

function titleWithCount() {
  const n = lastCounts.unread + lastCounts.unowned;
  return n > 0 ? `(${n}) ${baseTitle}` : baseTitle;
}

function drawFavicon(n) {
  const link = document.querySelector('link[rel="icon"]');
  if (!link) return;
  if (!link.dataset.orig) link.dataset.orig = link.href;
  if (n <= 0) {
    link.href = link.dataset.orig;
    return;
  }
  const c = document.createElement("canvas");
  c.width = c.height = 64;
  const g = c.getContext("2d");
  g.fillStyle = "#2563eb";
  g.beginPath();
  g.roundRect(4, 8, 56, 44, 12);
  g.fill();
  g.fillStyle = "#dc2626";
  g.beginPath();
  g.arc(46, 18, 18, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = "#fff";
  g.font = "bold 24px system-ui, sans-serif";
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(n > 99 ? "99" : String(n), 46, 19);
  link.href = c.toDataURL("image/png");
}

async function refreshCounts() {
  if (!document.body.dataset.user) return;
  try {
    const r = await get("/ui/counts");
    lastCounts = await r.json();
  } catch {
    return;
  }
  const badge = $("#bell-count");
  if (badge) {
    badge.hidden = lastCounts.alerts === 0;
    badge.textContent = String(lastCounts.alerts);
  }
  drawFavicon(lastCounts.unread + lastCounts.unowned);
  if (!flashTimer) document.title = titleWithCount();
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    clearInterval(flashTimer);
    flashTimer = null;
    unseen = 0;
    document.title = titleWithCount();
  }
});

async function loadAlerts() {
  const list = $("#bell-list");
  if (!list) return;
  try {
    const r = await get("/ui/alerts");
    swap(list, await r.text());
  } catch (e) {
    list.textContent = e.message;
  }
}

const refreshListSoon = debounce(() => refreshList().catch(() => {}), 250);
const refreshCountsSoon = debounce(refreshCounts, 250);
const paneTimers = new Map();

function refreshPaneSoon(id) {
  clearTimeout(paneTimers.get(id));
  paneTimers.set(id, setTimeout(() => refreshPane(id).catch(() => {}), 150));
}

function onChange(ev) {
  let e;
  try {
    e = JSON.parse(ev.data);
  } catch {
    return;
  }
  if (e.type.startsWith("alert.")) {
    refreshCountsSoon();
    if ($("#bell")?.open) loadAlerts();
    if (e.for_me && e.type === "alert.created") attention();
    return;
  }
  if (e.type === "message.received" || e.type === "conversation.created") {
    if (String(e.actor_id) !== document.body.dataset.user) attention();
  }
  refreshListSoon();
  refreshCountsSoon();
  for (const art of $$(".conv", panes || document)) {
    const same = (e.conversation_id && art.dataset.id === String(e.conversation_id)) ||
      (e.thread_id && art.dataset.thread === String(e.thread_id));
    const statusChange = e.type === "message.status" && $(".conv-head", art)?.dataset.pending;
    if (same || statusChange) refreshPaneSoon(art.dataset.id);
  }
}

function connect() {
  if (!document.body.dataset.user || !window.EventSource) return;
  const es = new EventSource("/ui/events");
  es.addEventListener("change", onChange);
  es.addEventListener("resync", () => {
    refreshListSoon();
    refreshCountsSoon();
    $$(".conv", panes || document).forEach((a) => refreshPaneSoon(a.dataset.id));
  });
  es.addEventListener("hello", () => document.body.classList.add("live-on"));
  es.onerror = () => document.body.classList.remove("live-on");
}

// The queue does not announce every delivery step: while a pane shows a message that
// is still on its way, look again every few seconds.
setInterval(() => {
  if (document.hidden) return;
  $$(".conv", panes || document).forEach((art) => {
    if ($(".conv-head", art)?.dataset.pending) refreshPane(art.dataset.id).catch(() => {});
  });
}, 4000);

// ---- wiring -----------------------------------------------------------------------

document.addEventListener("submit", (e) => {
  const form = e.target;
  if (form.classList.contains("js-compose")) {
    e.preventDefault();
    submitCompose(form, e.submitter).catch((err) => toast(err.message, "error"));
  } else if (form.classList.contains("js-ajax")) {
    e.preventDefault();
    submitAjax(form, e.submitter).catch((err) => toast(err.message, "error"));
  }
});

document.addEventListener("change", (e) => {
  const t = e.target;
  if (t.classList?.contains("js-autosubmit")) t.form.requestSubmit();
  if (t.classList?.contains("js-filter")) {
    const hidden = new Set(JSON.parse(localStorage.getItem("smsgw.hide") || "[]"));
    if (t.checked) hidden.delete(t.value);
    else hidden.add(t.value);
    localStorage.setItem("smsgw.hide", JSON.stringify([...hidden]));
    applyFilters(document);
  }
});

document.addEventListener("click", (e) => {
  const row = e.target.closest?.("a.row");
  if (row && panes && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) {
    e.preventDefault();
    openConversation(row.dataset.id).catch((err) => toast(err.message, "error"));
    return;
  }
  const folder = e.target.closest?.("a.folder");
  if (folder && inbox && !e.ctrlKey && !e.metaKey && e.button === 0) {
    e.preventDefault();
    inbox.dataset.view = folder.dataset.view;
    history.pushState({}, "", folder.getAttribute("href"));
    refreshList().catch((err) => toast(err.message, "error"));
    inbox.classList.remove("show-folders");
    return;
  }
  const beside = e.target.closest?.(".js-beside");
  if (beside) {
    const art = beside.closest(".conv");
    art.classList.toggle("pinned");
    beside.setAttribute("aria-pressed", art.classList.contains("pinned") ? "true" : "false");
    toast(art.classList.contains("pinned") ? "Pinned: the next conversation opens beside it." : "Unpinned.");
    return;
  }
  const close = e.target.closest?.(".js-close");
  if (close) {
    closePane(close.closest(".conv"));
    return;
  }
  const back = e.target.closest?.(".conv .back");
  if (back && panes) {
    e.preventDefault();
    closePane(back.closest(".conv"));
  }
  const alertOpen = e.target.closest?.("#bell-list a.alert-main");
  if (alertOpen && panes) {
    e.preventDefault();
    $("#bell").removeAttribute("open");
    const id = alertOpen.closest(".alert").dataset.conv;
    openConversation(id).catch((err) => toast(err.message, "error"));
  }
});

$("#bell")?.addEventListener("toggle", (e) => {
  if (e.target.open) loadAlerts();
});

window.addEventListener("popstate", () => location.reload());

// Settings page: this browser's preferences.
const sound = $("#pref-sound");
if (sound) {
  sound.checked = prefs().sound;
  sound.addEventListener("change", () => {
    localStorage.setItem("smsgw.sound", sound.checked ? "1" : "0");
    if (sound.checked) beep();
  });
}
const flash = $("#pref-flash");
if (flash) {
  flash.checked = prefs().flash;
  flash.addEventListener("change", () => localStorage.setItem("smsgw.flash", flash.checked ? "1" : "0"));
}

// Forms that ask first (deletes on the admin pages).
document.addEventListener("submit", (e) => {
  const f = e.target.closest?.("form.js-confirm");
  if (f && !window.confirm(f.dataset.confirm || "Are you sure?")) e.preventDefault();
});

// Alert template form: live preview with the segment count.
$$("form.js-template").forEach((form) => {
  const ta = $(".js-tpl-body", form);
  const show = async () => {
    if (!ta.value.trim()) return;
    try {
      const r = await get("/ui/template-preview?" + new URLSearchParams({ body: ta.value }));
      const pv = await r.json();
      $(".js-tpl-text", form).textContent = pv.text;
      $(".js-tpl-count", form).textContent = `${pv.characters} characters · ${pv.segments} SMS · ${pv.encoding}`;
      $(".js-tpl-missing", form).textContent = pv.missing_tokens?.length ? " · unknown tokens: " + pv.missing_tokens.join(", ") : "";
    } catch (err) {
      toast(err.message, "error");
    }
  };
  ta.addEventListener("input", debounce(show, 250));
  show();
});

enhance(document);
$$(".thread").forEach((t) => (t.scrollTop = t.scrollHeight));
refreshCounts();
connect();
document.body.dataset.ready = "1";
