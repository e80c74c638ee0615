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
let reconnectAttempt = 0;
let reconnectTimer = 0;

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
async function api(path, options = {}) {
  const token = await accessToken();
  const response = await fetch(`${API}${path}`, {
    ...options,
    headers: { Accept: "application/json", Authorization: `Bearer ${token}`, ...(options.headers ?? {}) },
  });
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
    body.items.filter((i) => !i.available).map((i) => `${productName(i.productId)}: ${i.requested} wanted, ${i.inStock} in stock (${i.reason})`));
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
      await loadCatalogue();
    } else if (status === 409 && body?.items) {
      showResult(false, body.title ?? "Some items are not available:",
        body.items.filter((i) => !i.available)
          .map((i) => `${productName(i.productId)}: ${i.requested} wanted, ${i.inStock} in stock (${i.reason})`));
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
}

function problemText(problem) {
  if (!problem) return "The request failed.";
  const errors = problem.errors ? Object.values(problem.errors).flat().join(" ") : "";
  return [problem.title, problem.detail, errors].filter(Boolean).join(" ");
}

// ---- Orders and their live status ---------------------------------------------------------------------

async function loadOrders() {
  const { ok, body } = await api("/orders?limit=20");
  if (!ok) return;
  for (const order of [...body.items].reverse()) {
    upsertOrder(order);
    const history = await api(`/orders/${encodeURIComponent(order.orderId)}/history`);
    if (history.ok) {
      for (const change of history.body.history) addTimelineEntry(order.orderId, change.status, change.at);
    }
  }
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
    entry = { order, element };
    orders.set(order.orderId, entry);
  }
  setStatus(order.orderId, order.status);
}

function setStatus(orderId, status) {
  const entry = orders.get(orderId);
  if (!entry) return;
  const badge = entry.element.querySelector(".badge");
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
  timeline.append(item);
}

async function onNotification(message) {
  if (message.type !== "order.status_changed") return;
  if (!orders.has(message.orderId)) {
    const { ok, body } = await api(`/orders/${encodeURIComponent(message.orderId)}`);
    if (ok) upsertOrder(body);
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
  current.addEventListener("open", () => {
    reconnectAttempt = 0;
    setConnection("online", "Live");
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
    setConnection("offline", "Disconnected");
    // A refused connection is most often an expired token: the next attempt gets a fresh one.
    if (Date.now() >= session.expiresAt - 30_000) session.expiresAt = 0;
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  reconnectAttempt += 1;
  const delay = Math.min(30_000, 500 * 2 ** Math.min(reconnectAttempt, 6)) * (0.5 + Math.random() / 2);
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
  $("#sign-in").hidden = true;
  $("#shop").hidden = false;
  $("#orders-section").hidden = false;
  await Promise.all([loadCatalogue(), loadOrders()]);
  connect();
  $("#shop-title").focus?.();
});

$("#check").addEventListener("click", checkAvailability);
$("#order-form").addEventListener("submit", placeOrder);
