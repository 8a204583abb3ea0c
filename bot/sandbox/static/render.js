// Building the chat's DOM: Telegram HTML made safe, and one element per message.
//
// The bot's text contains what people typed (customer names, notes...). The server renders it
// as Telegram HTML with every character of the text escaped. Here it is never handed to the
// browser's HTML parser: a small tokenizer accepts only the tags Telegram allows, in the exact
// form the server writes them, and builds elements one by one; any other markup stays text.
// Nothing the bot relays can become a script, a style, an image or a form.

const OPEN_TAGS = {
  b: "strong", i: "em", u: "u", s: "s", code: "code", pre: "pre", blockquote: "blockquote",
};
const TOKEN = /<[^<>]*>|[^<]+|</g;
const ENTITIES = { "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#x27;": "'", "&#39;": "'" };
const SAFE_SCHEMES = ["http:", "https:", "mailto:"];
// A /command (clickable: it sends itself) or a web address (a link), as Telegram detects them.
const DETECTED = /(^|[\s(])(\/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/@])|https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'])/g;
const NAME_COLORS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

function decodeEntities(text) {
  return text.replace(/&(lt|gt|amp|quot|#x27|#39);/g, (entity) => ENTITIES[entity]);
}

/** Telegram HTML → a DocumentFragment with only Telegram's formatting. */
export function safeFragment(html) {
  const root = document.createDocumentFragment();
  const open = [];  // [tag name, element]
  let parent = root;
  for (const [token] of String(html).matchAll(TOKEN)) {
    const element = token.startsWith("<") && token.length > 1 ? openingTag(token) : null;
    if (element) {
      parent.append(element.node);
      open.push([element.name, element.node]);
      parent = element.node;
      continue;
    }
    const closing = /^<\/([a-z-]+)>$/.exec(token);
    if (closing && open.length && open[open.length - 1][0] === closing[1]) {
      open.pop();
      parent = open.length ? open[open.length - 1][1] : root;
      continue;
    }
    parent.append(document.createTextNode(decodeEntities(token)));
  }
  return root;
}

function openingTag(token) {
  let match = /^<(b|i|u|s|code|pre|blockquote)>$/.exec(token);
  if (match) return { name: match[1], node: document.createElement(OPEN_TAGS[match[1]]) };
  if (token === "<blockquote expandable>") {
    const node = document.createElement("blockquote");
    node.className = "expandable";
    return { name: "blockquote", node };
  }
  match = /^<code class="language-([\w+#-]{1,32})">$/.exec(token);
  if (match) {
    const node = document.createElement("code");
    node.dataset.language = match[1];
    return { name: "code", node };
  }
  if (token === "<tg-spoiler>") {
    const node = document.createElement("span");
    node.className = "spoiler";
    node.tabIndex = 0;
    node.setAttribute("role", "button");
    node.setAttribute("aria-label", "Hidden text: show");
    return { name: "tg-spoiler", node };
  }
  match = /^<tg-emoji emoji-id="[^"]*">$/.exec(token);
  if (match) return { name: "tg-emoji", node: document.createElement("span") };
  match = /^<a href="([^"]*)">$/.exec(token);
  if (match) return { name: "a", node: safeLink(decodeEntities(match[1])) };
  return null;
}

function safeLink(href) {
  let url;
  try {
    url = new URL(href);
  } catch {
    return document.createElement("span");
  }
  if (!SAFE_SCHEMES.includes(url.protocol)) {
    return document.createElement("span");  // mentions (tg://) and odd schemes: plain text
  }
  const link = document.createElement("a");
  link.href = url.href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  return link;
}

/** Make /commands and web addresses in text clickable, as Telegram does (not inside links
 * or code). */
export function linkify(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement?.closest("a, code, pre")) continue;
    DETECTED.lastIndex = 0;
    if (DETECTED.test(node.data)) found.push(node);
  }
  for (const node of found) {
    const pieces = document.createDocumentFragment();
    let last = 0;
    node.data.replace(DETECTED, (match, before, detected, offset) => {
      const start = offset + before.length;
      pieces.append(node.data.slice(last, start));
      let link;
      if (detected.startsWith("/")) {
        link = document.createElement("a");
        link.className = "command";
        link.href = "#";
        link.dataset.command = detected;
      } else {
        link = safeLink(detected);
      }
      link.textContent = detected;
      pieces.append(link);
      last = start + detected.length;
      return match;
    });
    pieces.append(node.data.slice(last));
    node.replaceWith(pieces);
  }
}

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/);
  const first = Array.from(words[0] || "?")[0] || "?";
  const second = words.length > 1 ? Array.from(words[words.length - 1])[0] : "";
  return (first + second).toUpperCase();
}

export function colorFor(id) {
  return NAME_COLORS[Math.abs(Number(id)) % NAME_COLORS.length];
}

export function avatar(name, id, small = false) {
  const element = document.createElement("span");
  element.className = small ? "avatar small" : "avatar";
  element.setAttribute("aria-hidden", "true");
  element.style.setProperty("--avatar", colorFor(id));
  element.textContent = initials(name);
  return element;
}

export function timeOf(unix) {
  return new Date(unix * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function dayOf(unix) {
  const date = new Date(unix * 1000);
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return "Today";
  return date.toLocaleDateString([], { month: "long", day: "numeric" });
}

function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const DOC_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 4v11m0 0l-4-4m4 4l4-4M5 19h14"/></svg>';

/**
 * One message row: the bubble and, under it, its inline keyboard.
 * `me` is the persona looking at the chat; `group` says whether to show sender names.
 */
export function messageRow(message, { me, group }) {
  const row = document.createElement("div");
  row.className = "row";
  row.dataset.id = String(message.id);
  if (message.service) {
    const note = document.createElement("div");
    note.className = "service";
    note.textContent = message.service;
    row.append(note);
    return row;
  }
  const mine = message.from.id === me;
  if (mine) row.classList.add("out");
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.setAttribute("aria-label", `${mine ? "You" : message.from.name}, ${timeOf(message.date)}`);
  bubble.setAttribute("role", "article");

  if (group && !mine) {
    const sender = document.createElement("div");
    sender.className = "sender";
    sender.style.setProperty("--name", colorFor(message.from.id));
    sender.textContent = message.from.name;
    bubble.append(sender);
  }
  if (message.reply_to) {
    const quote = document.createElement("div");
    quote.className = "reply-quote";
    const who = document.createElement("strong");
    who.textContent = message.reply_to.name;
    quote.append(who, message.reply_to.text);
    bubble.append(quote);
  }
  if (message.photo) {
    const link = document.createElement("a");
    link.className = "photo-link";
    link.href = message.photo.url;
    link.target = "_blank";
    link.rel = "noopener";
    const image = document.createElement("img");
    image.className = "photo";
    image.src = message.photo.url;
    image.alt = message.html ? "Picture" : "Picture from the bot";
    if (message.photo.width && message.photo.height) {
      image.width = message.photo.width;
      image.height = message.photo.height;
    }
    link.append(image);
    bubble.append(link);
  }
  if (message.document) {
    const link = document.createElement("a");
    link.className = "doc";
    link.href = message.document.url;
    link.download = message.document.name;
    const icon = document.createElement("span");
    icon.className = "doc-icon";
    icon.innerHTML = DOC_ICON;  // a constant of ours
    const label = document.createElement("span");
    const name = document.createElement("span");
    name.className = "doc-name";
    name.textContent = message.document.name;
    const size = document.createElement("span");
    size.className = "doc-size";
    size.textContent = `${fileSize(message.document.size)} · Download`;
    label.append(name, size);
    link.append(icon, label);
    link.setAttribute("aria-label", `Download ${message.document.name}`);
    bubble.append(link);
  }
  if (message.contact) {
    const card = document.createElement("div");
    card.className = "contact";
    const label = document.createElement("span");
    const name = document.createElement("strong");
    name.textContent = message.contact.name;
    label.append(name, document.createElement("br"), message.contact.phone);
    card.append(avatar(message.contact.name, message.from.id, true), label);
    bubble.append(card);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = (message.edited ? "edited " : "") + timeOf(message.date);
  if (message.html) {
    const text = document.createElement("div");
    text.className = "text";
    text.append(safeFragment(message.html));
    linkify(text);
    text.append(meta);
    bubble.append(text);
  } else {
    bubble.append(meta);
  }
  row.append(bubble);

  if (message.buttons && message.buttons.length) {
    const keyboard = document.createElement("div");
    keyboard.className = "inline-kb";
    keyboard.setAttribute("role", "group");
    keyboard.setAttribute("aria-label", "Buttons");
    for (const buttons of message.buttons) {
      const line = document.createElement("div");
      line.className = "kb-row";
      for (const spec of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "kb-button";
        button.textContent = spec.text;
        if (spec.data !== undefined) {
          button.dataset.press = spec.data;
          button.dataset.message = String(message.id);
        } else if (spec.url) {
          button.dataset.url = spec.url;
        }
        line.append(button);
      }
      keyboard.append(line);
    }
    row.append(keyboard);
  }
  return row;
}
