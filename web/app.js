// The reference client of OrderProcessing: OAuth2 client credentials, the catalogue, placing an order,
// and live status over the WebSocket API. No framework, no build step; read it top to bottom.
//
// Base URLs come from the query string: ?api=https://...&ws=wss://...  Locally they default to the page's
// own origin (the local host serves this page at /app/) and ws://<host>:5001.

const params = new URLSearchParams(location.search);
const API = (params.get("api") ?? location.origin).replace(/\/$/, "");
const WS = params.get("ws") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.hostname}:5001`;
const SCOPES = "products:read orders:read orders:write notifications:read";

// Credentials and tokens live in memory only: never in localStorage, cookies or the URL.
const session = { clientId: "", clientSecret: "", accessToken: "", refreshToken: "", expiresAt: 0 };
const orders = new Map(); // orderId -> { order, element }
let socket = null;
let everConnected = false;
let reconnectAttempt = 0;
let reconnectTimer = 0;
let countdownTimer = 0;

// Statuses only move forward (a late or repeated notification never moves a badge back); the last two are final.
const STATUS_ORDER = ["PENDING_SHIPMENT", "SHIPPED", "DELIVERED", "CANCELLED", "DELIVERY_FAILED"];
const rank = (status) => Math.min(STATUS_ORDER.indexOf(status), 3);

const $ = (selector) => document.querySelector(selector);

// ---- OAuth2 ---------------------------------------------------------------------------------------

async function requestToken(form) {
  const response = await fetch(`${API}/oauth/token`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: "Basic " + btoa(`${encodeURIComponent(session.clientId)}:${encodeURIComponent(session.clientSecret)}`),
    },
    body: new URLSearchParams(form),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.error_description ?? body.error ?? `Sign-in failed (${response.status})`);
  }
  session.accessToken = body.access_token;
  session.refreshToken = body.refresh_token ?? "";
  session.expiresAt = Date.now() + body.expires_in * 1000;
}

/** A valid access token: refreshed (or re-requested) shortly before it expires. */
async function accessToken() {
  if (Date.now() < session.expiresAt - 30_000) {
    return session.accessToken;
  }
  if (session.refreshToken) {
    try {
      await requestToken({ grant_type: "refresh_token", refresh_token: session.refreshToken });
      return session.accessToken;
    } catch {
      // A rotated or revoked refresh token: fall back to the client credentials.
    }
  }
  await requestToken({ grant_type: "client_credentials", scope: SCOPES });
  return session.accessToken;
}

/** Calls the API with a bearer token; answers { ok, status, body } (ProblemDetails on errors). */
async function api(path, options = {}, retried = false) {
  const token = await accessToken();
  const response = await fetch(`${API}${path}`, {
    ...options,
    headers: { Accept: "application/json", Authorization: `Bearer ${token}`, ...(options.headers ?? {}) },
  });
  if (response.status === 401 && !retried) {
    // Expired or revoked before its time: get a new token and try once more.
    session.expiresAt = 0;
    return api(path, options, true);
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, body };
}

// ---- Catalogue and ordering -------------------------------------------------------------------------

async function loadCatalogue() {
  const { ok, body } = await api("/products?limit=100");
  const list = $("#catalogue");
  list.replaceChildren();
  if (!ok) {
    list.textContent = problemText(body);
    return;
  }
  for (const product of body.items) {
    const row = document.createElement("div");
    row.className = "product";
    const id = `qty-${product.productId}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = `${product.name} — ${formatMoney(product.price, product.currency)}`;
    const stock = document.createElement("span");
    stock.className = product.stock > 0 ? "stock" : "stock out";
    stock.textContent = product.stock > 0 ? `${product.stock} in stock` : "out of stock";
    label.append(stock);
    const quantity = document.createElement("input");
    Object.assign(quantity, { id, type: "number", min: "0", max: "1000", value: "0", inputMode: "numeric" });
    quantity.dataset.productId = product.productId;
    quantity.dataset.productName = product.name;
    row.append(label, quantity);
    list.append(row);
  }
}

function chosenItems() {
  return [...document.querySelectorAll("#catalogue input")]
    .map((input) => ({ productId: input.dataset.productId, quantity: Number(input.value) }))
    .filter((item) => item.quantity > 0);
}

function productName(productId) {
  return document.querySelector(`#catalogue input[data-product-id="${CSS.escape(productId)}"]`)?.dataset.productName ?? productId;
}

async function checkAvailability() {
  const items = chosenItems();
  if (items.length === 0) {
    return showResult(false, "Choose at least one item.");
  }
  const { ok, body } = await api("/check-availability", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ items }),
  });
  if (!ok) {
    return showResult(false, problemText(body));
  }
  showResult(body.available, body.available ? "Everything is available." : "Not everything is available:",
    body.items.filter((i) => !i.available).map(shortfall));
}

/** One unavailable item of an availability answer or a 409, in words. */
function shortfall(item) {
  const why = item.reason === "UNKNOWN_PRODUCT" ? "no such product" : "not enough in stock";
  return `${productName(item.productId)}: ${item.requested} wanted, ${item.inStock} in stock (${why})`;
}

async function placeOrder(event) {
  event.preventDefault();
  const items = chosenItems();
  if (items.length === 0) {
    return showResult(false, "Choose at least one item.");
  }
  const form = new FormData($("#order-form"));
  const shippingAddress = Object.fromEntries(["name", "line1", "city", "postalCode", "country"].map((k) => [k, form.get(k)]));
  const button = $("#place");
  button.disabled = true;
  try {
    // The same key is sent again if this request is retried, so an order is never placed twice.
    const { ok, status, body } = await api("/orders", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() },
      body: JSON.stringify({ items, shippingAddress }),
    });
    if (ok) {
      showResult(true, `Order placed: ${body.orderId}`);
      upsertOrder(body);
      addTimelineEntry(body.orderId, body.status, body.createdAt);
      await loadCatalogue();
    } else if (status === 409 && body?.items) {
      // Nothing was ordered: the problem's items say what is short.
      showResult(false, `${body.title ?? "Some items are not available."} ${body.detail ?? ""}`.trim(),
        body.items.filter((i) => !i.available).map(shortfall));
    } else {
      showResult(false, problemText(body));
    }
  } finally {
    button.disabled = false;
  }
}

function showResult(good, text, lines = []) {
  const result = $("#order-result");
  const message = document.createElement("p");
  message.className = good ? "result-ok" : "result-bad";
  message.textContent = text;
  const list = document.createElement("ul");
  list.className = "result-items";
  for (const line of lines) {
    const item = document.createElement("li");
    item.textContent = line;
    list.append(item);
  }
  result.replaceChildren(message, ...(lines.length ? [list] : []));
  result.hidden = false;
  // Focus follows the outcome, so a screen reader reads it and the keyboard continues from there; it sits next to
  // the buttons, in the bar that stays at the bottom of the window.
  result.focus();
  result.scrollIntoView({ block: "nearest" });
}

function problemText(problem) {
  if (!problem) return "The request failed.";
  const errors = problem.errors ? Object.values(problem.errors).flat().join(" ") : "";
  return [problem.title, problem.detail, errors].filter(Boolean).join(" ");
}

// ---- Orders and their live status ---------------------------------------------------------------------

/** The caller's latest orders with their history; also run after a reconnect, to catch up on what was missed. */
async function loadOrders() {
  const { ok, body } = await api("/orders?limit=20");
  if (!ok) {
    $("#orders-empty").textContent = problemText(body);
    return;
  }
  $("#orders-empty").hidden = body.items.length > 0 || orders.size > 0;
  for (const order of [...body.items].reverse()) upsertOrder(order);
  await Promise.all(body.items.map(async (order) => {
    const history = await api(`/orders/${encodeURIComponent(order.orderId)}/history`);
    if (history.ok) {
      for (const change of history.body.history) addTimelineEntry(order.orderId, change.status, change.at);
    }
  }));
}

function upsertOrder(order) {
  let entry = orders.get(order.orderId);
  if (!entry) {
    const element = $("#order-template").content.firstElementChild.cloneNode(true);
    element.dataset.orderId = order.orderId;
    element.querySelector(".order-id").textContent = order.orderId;
    element.querySelector(".order-lines").textContent =
      order.items.map((l) => `${l.quantity} × ${l.name}`).join(", ") + ` — ${formatMoney(order.total, order.currency)}`;
    $("#orders").prepend(element);
    $("#orders-empty").hidden = true;
    entry = { order, element };
    orders.set(order.orderId, entry);
  }
  setStatus(order.orderId, order.status);
}

function setStatus(orderId, status) {
  const entry = orders.get(orderId);
  if (!entry) return;
  const badge = entry.element.querySelector(".badge");
  if (badge.dataset.status && rank(status) <= rank(badge.dataset.status)) return;
  badge.dataset.status = status;
  badge.textContent = status.replaceAll("_", " ");
  badge.setAttribute("aria-label", `Status: ${status.replaceAll("_", " ").toLowerCase()}`);
}

function addTimelineEntry(orderId, status, at) {
  const entry = orders.get(orderId);
  if (!entry) return;
  const timeline = entry.element.querySelector(".timeline");
  if ([...timeline.children].some((li) => li.dataset.status === status)) return;
  const item = document.createElement("li");
  item.dataset.status = status;
  const time = document.createElement("time");
  time.dateTime = at;
  time.textContent = new Date(at).toLocaleTimeString();
  item.append(`${status.replaceAll("_", " ")} at `, time);
  // In the order things happened, whatever order the notifications and history arrive in.
  const later = [...timeline.children].find((li) => rank(li.dataset.status) > rank(status));
  timeline.insertBefore(item, later ?? null);
}

async function onNotification(message) {
  if (message.type !== "order.status_changed") return;
  if (!orders.has(message.orderId)) {
    // Placed elsewhere (another tab or device): fetch it once.
    const { ok, body } = await api(`/orders/${encodeURIComponent(message.orderId)}`);
    if (!ok) return;
    upsertOrder(body);
  }
  setStatus(message.orderId, message.status);
  addTimelineEntry(message.orderId, message.status, message.occurredAt);
}

// ---- WebSocket: connect, reconnect with backoff, re-authenticate ---------------------------------------

function setConnection(state, text) {
  document.querySelector(".dot").dataset.state = state;
  $("#connection-state").textContent = text;
}

async function connect() {
  clearTimeout(reconnectTimer);
  clearInterval(countdownTimer);
  setConnection("connecting", reconnectAttempt ? `Reconnecting (attempt ${reconnectAttempt})…` : "Connecting…");
  let token;
  try {
    token = await accessToken();
  } catch (error) {
    setConnection("offline", `Not connected: ${error.message}`);
    return scheduleReconnect();
  }
  const current = new WebSocket(`${WS}?token=${encodeURIComponent(token)}`);
  socket = current;
  let opened = false;
  current.addEventListener("open", () => {
    opened = true;
    reconnectAttempt = 0;
    setConnection("online", "Live");
    // Notifications sent while this page was disconnected are gone: read the orders again.
    if (everConnected) loadOrders();
    everConnected = true;
  });
  current.addEventListener("message", (event) => {
    try {
      onNotification(JSON.parse(event.data));
    } catch {
      // Not a notification: ignore.
    }
  });
  current.addEventListener("close", () => {
    if (socket !== current) return;
    // A connection refused at the handshake (the browser does not say why) is most often a token that expired
    // or was revoked: the next attempt gets a fresh one.
    if (!opened || Date.now() >= session.expiresAt - 30_000) session.expiresAt = 0;
    scheduleReconnect();
  });
}

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to 30 s, each between half and all of that. */
function scheduleReconnect() {
  reconnectAttempt += 1;
  const delay = Math.min(30_000, 250 * 2 ** Math.min(reconnectAttempt, 7)) * (0.5 + Math.random() / 2);
  const retryAt = Date.now() + delay;
  const show = () => setConnection("offline", `Disconnected; reconnecting in ${Math.max(1, Math.ceil((retryAt - Date.now()) / 1000))} s`);
  show();
  clearInterval(countdownTimer);
  countdownTimer = setInterval(show, 1000);
  reconnectTimer = setTimeout(connect, delay);
}

// ---- Wiring ---------------------------------------------------------------------------------------------

function formatMoney(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount);
  } catch {
    return `${amount} ${currency}`;
  }
}

$("#sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#sign-in-error");
  error.hidden = true;
  session.clientId = $("#client-id").value.trim();
  session.clientSecret = $("#client-secret").value;
  try {
    await requestToken({ grant_type: "client_credentials", scope: SCOPES });
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    return;
  }
  // The secret stays in `session` (to sign in again when tokens run out), not in the form.
  $("#client-secret").value = "";
  $("#sign-in").hidden = true;
  $("#shop").hidden = false;
  $("#orders-section").hidden = false;
  $("#shop-title").focus();
  connect();
  await Promise.all([loadCatalogue(), loadOrders()]);
});

$("#check").addEventListener("click", checkAvailability);
$("#order-form").addEventListener("submit", placeOrder);
