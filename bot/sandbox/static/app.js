// The sandbox page: pick who you are and which chat, type, press buttons, watch live.
//
// The server keeps every chat (the emulator); this page keeps a copy of the chats it has
// opened, updated by server-sent events (/api/events), and counts what arrived elsewhere.

import { avatar, dayOf, messageRow } from "./render.js";

const $ = (id) => document.getElementById(id);
const STORE_KEY = "chaterp-sandbox";
const ROLE_LABELS = {
  owner: "Owner", sales: "Salesperson", warehouse: "Warehouse", customer: "Customer",
  newcomer: "No access yet",
};
const TYPING_SECONDS = 5;

const state = {
  bot: { name: "chaterp", username: "" },
  personas: [],
  jobs: [],
  personaId: null,
  chatId: null,
  lastChat: {},             // persona id -> chat id last opened
  chats: new Map(),         // chat id -> Map(message id -> message)
  keyboards: new Map(),     // chat id -> reply keyboard (or null)
  commands: [],             // the menu the current persona sees in the current chat
  keyboardHidden: false,
  unread: new Map(),        // chat id -> messages from others not yet seen
  pendingPresses: new Map(),  // callback query id -> button element
  typingTimer: null,
};

// --- server --------------------------------------------------------------------------------

async function api(path, { method = "GET", body, form } = {}) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  } else if (form !== undefined) {
    options.body = form;
  }
  const response = await fetch(path, options);
  let data = {};
  try {
    data = await response.json();
  } catch {
    // not JSON: reported below by status
  }
  if (!response.ok) throw new Error(data.error || `The sandbox answered ${response.status}.`);
  return data;
}

// --- who and where -------------------------------------------------------------------------

function persona() {
  return state.personas.find((p) => p.id === state.personaId) || null;
}

function chat() {
  const me = persona();
  return me ? me.chats.find((c) => c.id === state.chatId) || null : null;
}

function save() {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify({
      personaId: state.personaId, chatId: state.chatId, lastChat: state.lastChat,
    }));
  } catch {
    // private mode: nothing is remembered, which is fine
  }
}

function restore() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

async function loadOverview() {
  const data = await api("/api/sandbox");
  state.bot = data.bot;
  state.personas = data.personas;
  state.jobs = data.jobs;
  renderJobs();
}

async function choosePersona(id, chatId) {
  const next = state.personas.find((p) => p.id === id) || state.personas[0];
  if (!next) return;
  state.personaId = next.id;
  const wanted = chatId ?? state.lastChat[next.id];
  const target = next.chats.find((c) => c.id === wanted) || next.chats[0];
  await openChat(target.id, { close: false });  // on a phone: the chat is chosen next
}

async function openChat(chatId, { close = true } = {}) {
  state.chatId = chatId;
  state.lastChat[state.personaId] = chatId;
  state.keyboardHidden = false;
  state.unread.delete(chatId);
  save();
  renderPeople();
  renderChats();
  renderHeader();
  if (close) closeSide();
  await loadChat();
}

async function loadChat() {
  const wanted = state.chatId;
  const data = await api(`/api/chats/${wanted}/messages?persona=${state.personaId}`);
  if (wanted !== state.chatId) return;  // switched meanwhile
  state.chats.set(wanted, new Map(data.messages.map((m) => [m.id, m])));
  state.keyboards.set(wanted, data.reply_keyboard);
  state.commands = data.commands || [];
  renderMessages();
  renderReplyKeyboard();
  renderCommandMenu();
}

// --- lists ---------------------------------------------------------------------------------

function unreadFor(p) {
  return p.chats.reduce((sum, c) => sum + (state.unread.get(c.id) || 0), 0);
}

function badge(count) {
  const element = document.createElement("span");
  element.className = "badge hot";
  element.textContent = String(count);
  element.setAttribute("aria-label", `${count} new`);
  return element;
}

function pickButton({ name, id, sub, current, count, onPick, label }) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "pick";
  if (current) button.setAttribute("aria-current", "true");
  const body = document.createElement("span");
  body.className = "pick-body";
  const title = document.createElement("span");
  title.className = "pick-name";
  title.textContent = name;
  const subtitle = document.createElement("span");
  subtitle.className = "pick-sub";
  subtitle.textContent = sub;
  body.append(title, subtitle);
  button.append(avatar(name, id), body);
  if (count) button.append(badge(count));
  button.setAttribute("aria-label", `${label || name}, ${sub}${count ? `, ${count} new` : ""}`);
  button.addEventListener("click", onPick);
  item.append(button);
  return item;
}

function roleLine(p) {
  const role = ROLE_LABELS[p.role] || p.role;
  const extra = p.customer ? ` · ${p.customer}` : "";
  const language = p.language.startsWith("zh") ? " · 中文" : "";
  return `${role}${extra}${language}`;
}

function renderPeople() {
  const list = $("personas");
  list.replaceChildren(...state.personas.map((p) => pickButton({
    name: p.name,
    id: p.id,
    sub: roleLine(p),
    current: p.id === state.personaId,
    count: p.id === state.personaId ? 0 : unreadFor(p),
    onPick: () => choosePersona(p.id),
  })));
}

function renderChats() {
  const me = persona();
  const list = $("chats");
  if (!me) return list.replaceChildren();
  list.replaceChildren(...me.chats.map((c) => pickButton({
    name: c.kind === "private" ? state.bot.name : c.title,
    id: c.id,
    sub: c.kind === "private" ? `Private chat with @${state.bot.username}` : "Group with the bot",
    current: c.id === state.chatId,
    count: c.id === state.chatId ? 0 : state.unread.get(c.id) || 0,
    onPick: () => openChat(c.id),
  })));
}

function renderJobs() {
  $("jobs-panel").hidden = state.jobs.length === 0;
  $("jobs").replaceChildren(...state.jobs.map((job) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "job";
    const title = document.createElement("strong");
    title.textContent = job.label;
    button.append(title);
    if (job.description) {
      const line = document.createElement("span");
      line.textContent = job.description;
      button.append(line);
    }
    button.addEventListener("click", () => runJob(job, button));
    item.append(button);
    return item;
  }));
}

async function runJob(job, button) {
  if (button.getAttribute("aria-busy") === "true") return;
  button.setAttribute("aria-busy", "true");
  try {
    const result = await api(`/api/jobs/${encodeURIComponent(job.name)}`, { method: "POST", body: {} });
    toast(`${job.label}: ${result.summary || "done"}`);
  } catch (error) {
    toast(error.message, true);
  } finally {
    button.removeAttribute("aria-busy");
  }
}

function renderHeader() {
  const me = persona();
  const here = chat();
  if (!me || !here) return;
  const title = here.kind === "private" ? state.bot.name : here.title;
  $("chat-title").textContent = title;
  $("chat-avatar").replaceWith(Object.assign(avatar(title, here.id), { id: "chat-avatar" }));
  setStatus();
  const who = $("as-who");
  who.replaceChildren("as ", Object.assign(document.createElement("strong"), { textContent: me.name }));
  document.title = `${title} · ${me.name} · chaterp sandbox`;
}

function setStatus(typing = false) {
  const here = chat();
  const status = $("chat-status");
  status.classList.toggle("typing", typing);
  if (typing) status.textContent = here && here.kind === "group" ? `${state.bot.name} is typing…` : "typing…";
  else status.textContent = here && here.kind === "group" ? "group" : "bot";
}

// --- messages ------------------------------------------------------------------------------

function nearBottom(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

function renderMessages() {
  const box = $("messages");
  const messages = [...(state.chats.get(state.chatId)?.values() || [])];
  const here = chat();
  const rows = [];
  let lastDay = null;
  let lastSender = null;
  for (const message of messages) {
    const day = dayOf(message.date);
    if (day !== lastDay) {
      const divider = document.createElement("div");
      divider.className = "day";
      divider.textContent = day;
      rows.push(divider);
      lastDay = day;
      lastSender = null;
    }
    const row = messageRow(message, { me: state.personaId, group: here?.kind === "group" });
    if (message.from.id !== lastSender) row.classList.add("gap");
    lastSender = message.from.id;
    rows.push(row);
  }
  if (rows.length === 0) rows.push(emptyState());
  box.replaceChildren(...rows);
  box.scrollTop = box.scrollHeight;
}

function emptyState() {
  const me = persona();
  const here = chat();
  const box = document.createElement("div");
  box.className = "empty";
  const line = document.createElement("p");
  const button = document.createElement("button");
  button.type = "button";
  if (me?.role === "newcomer") {
    line.textContent = "No access yet. As the owner, send /invite and tap the link it gives; or paste an invite here as /start TOKEN.";
    button.textContent = "Send /start";
    button.addEventListener("click", () => sendText("/start"));
  } else if (here?.kind === "group") {
    line.textContent = "No messages here yet. New orders to ship are posted in this group.";
    button.textContent = "Send /ship";
    button.addEventListener("click", () => sendText(`/ship@${state.bot.username}`));
  } else {
    line.textContent = `No messages here yet. ${me ? me.name : "You"} can ask the bot what it can do.`;
    button.textContent = "Send /help";
    button.addEventListener("click", () => sendText("/help"));
  }
  box.append(line, button);
  return box;
}

function upsertMessage(message, kind) {
  const messages = state.chats.get(message.chat_id);
  if (!messages) return;  // not opened yet: it is loaded whole when opened
  if (kind === "deleted") messages.delete(message.id);
  else messages.set(message.id, message);
  if (message.chat_id !== state.chatId) return;
  const box = $("messages");
  const stick = nearBottom(box);
  const existing = box.querySelector(`.row[data-id="${message.id}"]`);
  if (kind === "deleted") {
    existing?.remove();
    return;
  }
  if (!existing && (box.querySelector(".empty") || lastDayShown(box) !== dayOf(message.date))) {
    renderMessages();
    return;
  }
  const row = messageRow(message, { me: state.personaId, group: chat()?.kind === "group" });
  if (existing) {
    row.className = existing.className;
    row.classList.remove("flash");
    existing.replaceWith(row);
    if (kind === "edited") {
      void row.offsetWidth;  // restart the highlight
      row.classList.add("flash");
    }
  } else {
    const previous = box.lastElementChild?.classList.contains("row") ? box.lastElementChild : null;
    const previousSender = previous ? state.chats.get(state.chatId).get(Number(previous.dataset.id))?.from.id : null;
    if (previousSender !== message.from.id) row.classList.add("gap");
    box.append(row);
  }
  if (stick || message.from.id === state.personaId) box.scrollTop = box.scrollHeight;
}

function lastDayShown(box) {
  const days = box.querySelectorAll(".day");
  return days.length ? days[days.length - 1].textContent : null;
}

// --- typing and pressing -------------------------------------------------------------------

async function sendText(text) {
  const here = chat();
  if (!here || !text.trim()) return;
  if (here.kind === "group" && /^\/[a-zA-Z0-9_]+$/.test(text.split(/\s/)[0]) && state.bot.username) {
    // Commands in groups name the bot, as Telegram's command menu does.
    const [command, ...rest] = text.split(" ");
    text = [`${command}@${state.bot.username}`, ...rest].join(" ");
  }
  const keyboard = state.keyboards.get(here.id);
  if (keyboard?.one_time) hideKeyboard(true);
  try {
    await api(`/api/chats/${here.id}/messages`, {
      method: "POST", body: { persona: state.personaId, text },
    });
  } catch (error) {
    toast(error.message, true);
    throw error;
  }
}

async function press(button) {
  const here = chat();
  if (!here || button.getAttribute("aria-busy") === "true") return;
  button.setAttribute("aria-busy", "true");
  try {
    const result = await api(`/api/chats/${here.id}/press`, {
      method: "POST",
      body: { persona: state.personaId, message_id: Number(button.dataset.message), data: button.dataset.press },
    });
    state.pendingPresses.set(result.callback_query_id, button);
    setTimeout(() => settlePress(result.callback_query_id), 15000);
  } catch (error) {
    button.removeAttribute("aria-busy");
    toast(error.message, true);
  }
}

function settlePress(queryId) {
  const button = state.pendingPresses.get(queryId);
  state.pendingPresses.delete(queryId);
  button?.removeAttribute("aria-busy");
}

async function shareContact() {
  const here = chat();
  hideKeyboard(Boolean(state.keyboards.get(here.id)?.one_time));
  try {
    await api(`/api/chats/${here.id}/contact`, { method: "POST", body: { persona: state.personaId } });
  } catch (error) {
    toast(error.message, true);
  }
}

async function sendFile(file) {
  const here = chat();
  if (!here || !file) return;
  const form = new FormData();
  form.append("persona", String(state.personaId));
  form.append("file", file, file.name);
  try {
    await api(`/api/chats/${here.id}/documents`, { method: "POST", form });
  } catch (error) {
    toast(error.message, true);
  }
}

// --- the reply keyboard and the command menu ---------------------------------------------

function renderReplyKeyboard() {
  const messages = $("messages");
  const stick = nearBottom(messages);
  drawReplyKeyboard();
  if (stick) messages.scrollTop = messages.scrollHeight;  // the keyboard must not hide the question
}

function drawReplyKeyboard() {
  const keyboard = state.keyboards.get(state.chatId);
  const box = $("reply-keyboard");
  const toggle = $("toggle-keyboard");
  toggle.hidden = !keyboard;
  if (!keyboard) {
    box.hidden = true;
    box.replaceChildren();
    $("text").placeholder = "Message";
    return;
  }
  $("text").placeholder = keyboard.placeholder || "Message";
  box.replaceChildren(...keyboard.rows.map((buttons) => {
    const line = document.createElement("div");
    line.className = "kb-row";
    for (const spec of buttons) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = spec.request_contact ? "kb-button contact-request" : "kb-button";
      button.textContent = spec.text;
      button.addEventListener("click", () => (spec.request_contact ? shareContact() : sendText(spec.text)));
      line.append(button);
    }
    return line;
  }));
  box.hidden = state.keyboardHidden;
  toggle.setAttribute("aria-pressed", String(!state.keyboardHidden));
  toggle.setAttribute("aria-label", state.keyboardHidden ? "Show the reply keyboard" : "Hide the reply keyboard");
}

function hideKeyboard(hidden) {
  state.keyboardHidden = hidden;
  renderReplyKeyboard();
}

function renderCommandMenu() {
  const menu = $("command-menu");
  $("menu-button").hidden = state.commands.length === 0;
  menu.replaceChildren(...state.commands.map((command) => {
    const item = document.createElement("li");
    item.setAttribute("role", "none");
    const button = document.createElement("button");
    button.type = "button";
    button.setAttribute("role", "menuitem");
    const name = document.createElement("span");
    name.className = "cmd";
    name.textContent = `/${command.command}`;
    const description = document.createElement("span");
    description.className = "desc";
    description.textContent = command.description;
    button.append(name, description);
    button.addEventListener("click", () => {
      toggleMenu(false);
      sendText(`/${command.command}`);
    });
    item.append(button);
    return item;
  }));
}

function toggleMenu(open) {
  const menu = $("command-menu");
  const show = open ?? menu.hidden;
  menu.hidden = !show;
  $("menu-button").setAttribute("aria-expanded", String(show));
  if (show) menu.querySelector("button")?.focus();
}

// --- live events ---------------------------------------------------------------------------

function onEvent(event) {
  if (event.kind === "personas") {
    refreshPeople();
    return;
  }
  if (event.kind === "callback_answer") {
    settlePress(event.data.callback_query_id);
    const text = event.data.text;
    if (text && event.data.show_alert) showAlert(text);
    else if (text) toast(text);
    return;
  }
  if (event.kind === "chat_action") {
    if (event.chat_id === state.chatId) {
      setStatus(true);
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(() => setStatus(false), TYPING_SECONDS * 1000);
    }
    return;
  }
  const message = event.message;
  if (!message) return;
  if (event.kind === "message" && message.from.is_bot && event.chat_id === state.chatId) {
    clearTimeout(state.typingTimer);
    setStatus(false);
  }
  if (event.kind === "message" && message.from.id !== state.personaId && event.chat_id !== state.chatId) {
    state.unread.set(event.chat_id, (state.unread.get(event.chat_id) || 0) + 1);
    renderPeople();
    renderChats();
  }
  upsertMessage(message, event.kind);
  if (event.chat_id === state.chatId && message.from.is_bot && event.kind === "message") {
    refreshKeyboard();
  }
}

let keyboardRefresh = null;
function refreshKeyboard() {
  // A bot message may have brought or removed a reply keyboard: ask once things settle.
  clearTimeout(keyboardRefresh);
  keyboardRefresh = setTimeout(async () => {
    const wanted = state.chatId;
    try {
      const data = await api(`/api/chats/${wanted}/messages?persona=${state.personaId}`);
      if (wanted !== state.chatId) return;
      const before = JSON.stringify(state.keyboards.get(wanted));
      state.keyboards.set(wanted, data.reply_keyboard);
      state.commands = data.commands || [];
      renderCommandMenu();
      if (before !== JSON.stringify(data.reply_keyboard)) {
        state.keyboardHidden = false;
        renderReplyKeyboard();
      }
    } catch {
      // the next event tries again
    }
  }, 80);
}

async function refreshPeople() {
  try {
    await loadOverview();
  } catch (error) {
    toast(error.message, true);
    return;
  }
  if (!persona()) await choosePersona(state.personas[0]?.id);
  else {
    renderPeople();
    renderChats();
  }
}

function listen() {
  const source = new EventSource("/api/events");
  let lost = false;
  source.onmessage = (message) => onEvent(JSON.parse(message.data));
  source.onerror = () => {
    lost = true;
  };
  source.onopen = () => {
    if (lost) {  // back after a gap: what happened meanwhile is reloaded
      lost = false;
      state.chats.clear();
      refreshPeople().then(loadChat);
    }
  };
}

// --- small things --------------------------------------------------------------------------

function toast(text, error = false) {
  const element = document.createElement("div");
  element.className = error ? "toast error" : "toast";
  element.textContent = text;
  $("toasts").append(element);
  setTimeout(() => element.remove(), error ? 5000 : 3000);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert").showModal();
}

function openSide() {
  $("side").classList.add("open");
  $("scrim").hidden = false;
  $("open-side").setAttribute("aria-expanded", "true");
  $("side").querySelector(".pick[aria-current='true']")?.focus();
}

function closeSide() {
  if (!$("side").classList.contains("open")) return;
  $("side").classList.remove("open");
  $("scrim").hidden = true;
  $("open-side").setAttribute("aria-expanded", "false");
}

function isInviteLink(url) {
  return (
    url.hostname === "t.me" &&
    url.pathname.replace(/^\//, "").toLowerCase() === state.bot.username.toLowerCase()
  );
}

async function openInvite(url) {
  const start = url.searchParams.get("start");
  if (!start) {
    const me = persona();
    if (me) await openChat(me.id);
    return;
  }
  const dialog = $("invite-dialog");
  dialog.returnValue = "";
  dialog.showModal();
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "open") return;
    try {
      const newcomer = await api("/api/personas", { method: "POST", body: {} });
      await loadOverview();
      await choosePersona(newcomer.id, newcomer.id);
      await sendText(`/start ${start}`);
    } catch (error) {
      toast(error.message, true);
    }
  }, { once: true });
}

function autoGrow() {
  const text = $("text");
  text.style.height = "auto";
  text.style.height = `${Math.min(text.scrollHeight, 160)}px`;
}

function wire() {
  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("text");
    const value = text.value;
    if (!value.trim()) return;
    text.value = "";
    autoGrow();
    try {
      await sendText(value);
    } catch {
      text.value = value;  // not sent: keep what was typed
    }
    text.focus();
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("text").addEventListener("input", autoGrow);
  $("messages").addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const button = target?.closest(".kb-button");
    if (button?.dataset.press !== undefined) return press(button);
    if (button?.dataset.url) return window.open(button.dataset.url, "_blank", "noopener");
    const command = target?.closest("a.command");
    if (command) {
      event.preventDefault();
      return sendText(command.dataset.command);
    }
    const spoiler = target?.closest(".spoiler");
    if (spoiler) return spoiler.classList.add("shown");
    const link = target?.closest("a[href]");
    if (link && !link.classList.contains("doc") && !link.classList.contains("photo-link")) {
      const url = new URL(link.href);
      if (isInviteLink(url)) {
        event.preventDefault();
        openInvite(url);
      }
    }
    return undefined;
  });
  $("messages").addEventListener("keydown", (event) => {
    const spoiler = event.target instanceof Element ? event.target.closest(".spoiler") : null;
    if (spoiler && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      spoiler.classList.add("shown");
    }
  });
  $("toggle-keyboard").addEventListener("click", () => hideKeyboard(!state.keyboardHidden));
  $("menu-button").addEventListener("click", () => toggleMenu());
  $("command-menu").addEventListener("keydown", (event) => {
    const items = [...$("command-menu").querySelectorAll("button")];
    const index = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown") items[(index + 1) % items.length]?.focus();
    else if (event.key === "ArrowUp") items[(index - 1 + items.length) % items.length]?.focus();
    else if (event.key === "Escape") {
      toggleMenu(false);
      $("menu-button").focus();
    } else return;
    event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    if (!(event.target instanceof Element) || event.target.closest("#command-menu, #menu-button")) return;
    if (!$("command-menu").hidden) toggleMenu(false);
  });
  $("file-input").addEventListener("change", (event) => {
    const [file] = event.target.files;
    event.target.value = "";
    sendFile(file);
  });
  $("add-newcomer").addEventListener("click", async () => {
    try {
      const newcomer = await api("/api/personas", { method: "POST", body: {} });
      await loadOverview();
      await choosePersona(newcomer.id);
    } catch (error) {
      toast(error.message, true);
    }
  });
  $("open-side").addEventListener("click", openSide);
  $("close-side").addEventListener("click", closeSide);
  $("scrim").addEventListener("click", closeSide);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeSide();
  });
}

async function main() {
  wire();
  const remembered = restore();
  state.lastChat = remembered.lastChat || {};
  try {
    await loadOverview();
  } catch (error) {
    toast(`The sandbox is not answering: ${error.message}`, true);
    return;
  }
  listen();
  await choosePersona(remembered.personaId, remembered.chatId);
  document.body.dataset.ready = "true";
}

main();
