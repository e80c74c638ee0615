// A customer app written against the client generated from docs/openapi.json (openapi-typescript + openapi-fetch):
// gets a token, places an order, reads it back, and is refused a sold-out item with the documented 409.
// Exits non-zero with a message on the first step that does not behave as documented.
// Usage: node dist/src/customer-flow.js <api base URL> <client id> <client secret> <product id> <sold-out product id>
import createClient from "openapi-fetch";
import type { paths } from "../generated/api.js";

const [baseUrl, clientId, clientSecret, productId, soldOutId] = process.argv.slice(2);
if (!soldOutId) {
  console.error("usage: customer-flow <base URL> <client id> <client secret> <product id> <sold-out product id>");
  process.exit(2);
}

function fail(step: string, detail: unknown): never {
  console.error(`${step}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  process.exit(1);
}

const api = createClient<paths>({ baseUrl });

const token = await api.POST("/oauth/token", {
  body: { grant_type: "client_credentials", scope: "products:read orders:read orders:write" },
  bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
  headers: {
    "Content-Type": "application/x-www-form-urlencoded",
    Authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64")}`,
  },
});
if (!token.data) fail("token", `${token.response.status} ${JSON.stringify(token.error)}`);
const accessToken: string = token.data.access_token;
const headers = { Authorization: `Bearer ${accessToken}` };

const shippingAddress = { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postalCode: "SW1Y 4JH", country: "GB" };
const placed = await api.POST("/orders", {
  headers: { ...headers, "Idempotency-Key": crypto.randomUUID() },
  body: { items: [{ productId, quantity: 1 }], shippingAddress },
});
if (placed.response.status !== 201 || !placed.data) fail("place order", `${placed.response.status} ${JSON.stringify(placed.error)}`);
const orderId: string = placed.data.orderId;

const read = await api.GET("/orders/{id}", { params: { path: { id: orderId } }, headers });
if (!read.data) fail("read order", `${read.response.status} ${JSON.stringify(read.error)}`);
if (read.data.orderId !== orderId || read.data.items[0]?.productId !== productId) fail("read order", read.data);

const soldOut = await api.POST("/orders", {
  headers,
  body: { items: [{ productId: soldOutId, quantity: 1 }], shippingAddress },
});
if (soldOut.response.status !== 409 || !soldOut.error) fail("sold-out order", `expected 409, got ${soldOut.response.status}`);
const problem = soldOut.error as { type?: string; status?: number };
if (!problem.type?.endsWith("/insufficient-stock") || problem.status !== 409) fail("sold-out order", problem);

console.log(`ok: token, order ${orderId} placed and read back, sold-out item refused with ${problem.type}`);
