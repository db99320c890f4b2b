// A real relying party in a real browser against tokenstack (issue 27): `openid-client`, unmodified, in a small
// express app; Debian's chromium driven by playwright-core (never a downloaded browser). The browser signs in as
// a person would, by filling `uidField` and `password` and pressing Enter; the app then shows the user's email
// and groups; a wrong password shows authentik's error and stays on the page; explicit consent asks once; a device
// runs openid-client's device authorization grant (RFC 8628) while the browser approves its code; signing out
// through the provider's end-session endpoint comes back to the app with its state, and the next sign-in needs the
// password again; with response_mode=form_post the autosubmit page posts the code back to the app.
//
//   TOKENSTACK_BIN=target/debug/tokenstack node tests/browser/login.test.mjs
//
// CHROMIUM (default /usr/bin/chromium) names the browser. Exits non-zero on the first failed check.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { strict as assert } from "node:assert";
import { fileURLToPath } from "node:url";
import path from "node:path";
import net from "node:net";

import express from "express";
import * as oidc from "openid-client";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const binary = process.env.TOKENSTACK_BIN ?? path.join(repo, "target/debug/tokenstack");
const ADMIN_KEY = "browser-test-bootstrap-key-0123456789abcdefghijklmnopqrstuvwx";

async function freePort() {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  return port;
}

async function startTokenstack(port) {
  const child = spawn(
    binary,
    ["--bind", `127.0.0.1:${port}`, "--seed", path.join(repo, "examples/seed.yaml"), "--bootstrap-token", ADMIN_KEY,
      "--validate-responses", "--log-level", "warn"],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { child, base };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error("tokenstack did not become ready");
}

/** A provider `slug` with its application, running `flow`, redirecting to `redirect`; `logout` (optional) is
 * its post-logout redirect URI, and its invalidation flow then the default one, whose logout stage ends the
 * authentik session; `extra` overrides fields. */
async function provider(base, slug, flow, redirect, logout, extra = {}) {
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" };
  const body = {
    name: slug, client_id: slug, client_secret: `${slug}-secret`, authorization_flow: flow,
    invalidation_flow: logout ? "7f1a0005-0000-4000-8000-000000000005" : "7f1a0002-0000-4000-8000-000000000002",
    redirect_uris: [{ matching_mode: "strict", url: redirect }].concat(
      logout ? [{ matching_mode: "strict", url: logout, redirect_uri_type: "logout" }] : [],
    ),
    signing_key: "7f1a0004-0000-4000-8000-000000000004",
    grant_types: ["authorization_code", "refresh_token"],
    property_mappings: [
      "7f1a0010-0000-4000-8000-000000000001", "7f1a0010-0000-4000-8000-000000000002",
      "7f1a0010-0000-4000-8000-000000000003",
    ],
  };
  const created = await fetch(`${base}/api/v3/providers/oauth2/`, {
    method: "POST", headers, body: JSON.stringify({ ...body, ...extra }),
  });
  const text = await created.text();
  assert.equal(created.status, 201, text);
  const pk = JSON.parse(text).pk;
  const app = { name: `${slug} app`, slug, provider: pk };
  const bound = await fetch(`${base}/api/v3/core/applications/`, { method: "POST", headers, body: JSON.stringify(app) });
  const boundText = await bound.text();
  assert.equal(bound.status, 201, boundText);
}

/** The relying party: `/login/:client` starts the code flow with PKCE, `/callback/:client` ends it, `/` shows;
 * `/logout/:client` signs out at the provider (RP-initiated logout), which comes back to `/signed-out`. */
async function startRelyingParty(port, base, clients) {
  const origin = `http://127.0.0.1:${port}`;
  const configs = {};
  for (const client of clients) {
    configs[client] = await oidc.discovery(
      new URL(`${base}/application/o/${client}/`), client, `${client}-secret`, undefined,
      { execute: [oidc.allowInsecureRequests] },
    );
  }
  const pending = new Map();
  let shown = null;
  const idTokens = {};
  const app = express();
  app.get("/login/:client", async (req, res) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    pending.set(state, verifier);
    // The client `formpost` asks for the code in a form the browser posts back (`response_mode=form_post`).
    const mode = req.params.client === "formpost" ? { response_mode: "form_post" } : {};
    const url = oidc.buildAuthorizationUrl(configs[req.params.client], {
      redirect_uri: `${origin}/callback/${req.params.client}`, scope: "openid email profile", state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256", ...mode,
    });
    res.redirect(url.href);
  });
  /** Ends a login with the authorization response: the callback's URL, or for form_post the posted form. */
  async function callback(req, res, response, state) {
    try {
      const tokens = await oidc.authorizationCodeGrant(configs[req.params.client], response, {
        pkceCodeVerifier: pending.get(state), expectedState: state,
      });
      shown = tokens.claims();
      idTokens[req.params.client] = tokens.id_token;
      res.redirect(303, "/");
    } catch (error) {
      res.status(500).send(`login failed: ${error}`);
    }
  }
  app.get("/callback/:client", async (req, res) => {
    const url = new URL(req.originalUrl, origin);
    await callback(req, res, url, url.searchParams.get("state"));
  });
  app.post("/callback/:client", express.urlencoded({ extended: false }), async (req, res) => {
    const body = new URLSearchParams(req.body).toString();
    const request = new Request(new URL(req.originalUrl, origin), {
      method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body,
    });
    await callback(req, res, request, req.body.state);
  });
  app.get("/logout/:client", (req, res) => {
    const url = oidc.buildEndSessionUrl(configs[req.params.client], {
      id_token_hint: idTokens[req.params.client], post_logout_redirect_uri: `${origin}/signed-out`, state: "bye now",
    });
    shown = null;
    res.redirect(url.href);
  });
  app.get("/signed-out", (req, res) => {
    res.send(`<p id="signed-out">signed out</p><p id="state">${req.query.state ?? ""}</p>`);
  });
  app.get("/", (req, res) => {
    if (!shown) return res.send("<p>signed out</p>");
    const groups = (shown.groups ?? []).join(", ");
    res.send(`<p id="email">${shown.email}</p><p id="groups">${groups}</p><p id="amr">${(shown.amr ?? []).join(",")}</p>`);
  });
  const server = app.listen(port, "127.0.0.1");
  await once(server, "listening");
  return { server, origin, reset: () => { shown = null; } };
}

const checks = [];
async function check(name, body) {
  await body();
  checks.push(name);
  console.log(`ok - ${name}`);
}

const tsPort = await freePort();
const rpPort = await freePort();
const { child, base } = await startTokenstack(tsPort);
let browser;
let rp;
try {
  const rpOrigin = `http://127.0.0.1:${rpPort}`;
  await provider(
    base, "implicit", "7f1a0001-0000-4000-8000-000000000001", `${rpOrigin}/callback/implicit`, `${rpOrigin}/signed-out`,
  );
  await provider(base, "explicit", "7f1a0005-0000-4000-8000-000000000007", `${rpOrigin}/callback/explicit`);
  await provider(base, "formpost", "7f1a0001-0000-4000-8000-000000000001", `${rpOrigin}/callback/formpost`);
  rp = await startRelyingParty(rpPort, base, ["implicit", "explicit", "formpost"]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext();
  const page = await context.newPage();

  await check("a wrong password shows authentik's error and stays on the page", async () => {
    await page.goto(`${rpOrigin}/login/implicit`);
    await page.waitForURL(/\/if\/flow\/default-authentication-flow\//);
    await page.fill('input[name="uidField"]', "alice");
    await page.press('input[name="uidField"]', "Enter");
    await page.waitForSelector('input[name="password"]');
    await page.fill('input[name="password"]', "not-her-password");
    await page.press('input[name="password"]', "Enter");
    await page.waitForSelector(".pf-m-error");
    assert.equal((await page.textContent(".pf-m-error")).trim(), "Invalid password");
    assert.match(page.url(), /\/if\/flow\/default-authentication-flow\//);
  });

  await check("signing in with uidField, password and Enter: the app shows the user's email and groups", async () => {
    await page.fill('input[name="password"]', "alice-password");
    await page.press('input[name="password"]', "Enter");
    await page.waitForURL(`${rpOrigin}/`);
    assert.equal(await page.textContent("#email"), "alice@example.com");
    assert.equal(await page.textContent("#groups"), "authentik Admins");
    assert.equal(await page.textContent("#amr"), "pwd");
    const cookies = await context.cookies(base);
    const session = cookies.find((c) => c.name === "authentik_session");
    assert.ok(session && session.httpOnly && session.sameSite === "Lax", JSON.stringify(cookies));
  });

  await check("explicit consent asks once", async () => {
    rp.reset();
    await page.goto(`${rpOrigin}/login/explicit`);
    await page.waitForURL(/\/if\/flow\/default-provider-authorization-explicit-consent\//);
    const permissions = await page.locator("li").allTextContents();
    assert.deepEqual(permissions, ["Email address", "General Profile Information"]);
    await page.press('button[type="submit"]', "Enter");
    await page.waitForURL(`${rpOrigin}/`);
    assert.equal(await page.textContent("#email"), "alice@example.com");
    rp.reset();
    await page.goto(`${rpOrigin}/login/explicit`);
    await page.waitForURL(`${rpOrigin}/`);
    assert.equal(await page.textContent("#email"), "alice@example.com", "no consent page the second time");
  });

  await check("a device signs in with openid-client's device flow while the browser approves its code", async () => {
    await provider(base, "tv", "7f1a0001-0000-4000-8000-000000000001", `${rpOrigin}/unused`, undefined, {
      client_type: "public", redirect_uris: [], grant_types: ["urn:ietf:params:oauth:grant-type:device_code"],
    });
    const config = await oidc.discovery(
      new URL(`${base}/application/o/tv/`), "tv", undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] },
    );
    const device = await oidc.initiateDeviceAuthorization(config, { scope: "openid email" });
    assert.match(device.user_code, /^\d{9}$/);
    const polling = oidc.pollDeviceAuthorizationGrant(config, device);
    await page.goto(device.verification_uri_complete);
    await page.waitForSelector("text=successfully authenticated your device");
    await page.press('button[type="submit"]', "Enter");
    await page.waitForURL(`${base}/if/user/`);
    const tokens = await polling;
    assert.equal(tokens.claims().email, "alice@example.com");
    assert.deepEqual(tokens.claims().amr, ["pwd"]);
  });

  await check("signing out through end-session: back at the app with the state; the next login needs the password", async () => {
    await page.goto(`${rpOrigin}/logout/implicit`);
    await page.waitForURL(/\/signed-out\?state=/);
    assert.equal(await page.textContent("#state"), "bye now");
    const cookies = await context.cookies(base);
    const me = await page.request.get(`${base}/api/v3/core/users/me/`);
    assert.equal(me.status(), 403, `the session is over: ${JSON.stringify(cookies)}`);
    await page.goto(`${rpOrigin}/login/implicit`);
    await page.waitForURL(/\/if\/flow\/default-authentication-flow\//);
    await page.fill('input[name="uidField"]', "alice");
    await page.press('input[name="uidField"]', "Enter");
    await page.waitForSelector('input[name="password"]');
    await page.fill('input[name="password"]', "alice-password");
    await page.press('input[name="password"]', "Enter");
    await page.waitForURL(`${rpOrigin}/`);
    assert.equal(await page.textContent("#email"), "alice@example.com");
  });

  await check("response_mode=form_post: the autosubmit page posts the code to the app, which signs in", async () => {
    rp.reset();
    const posted = page.waitForRequest((r) => r.method() === "POST" && r.url() === `${rpOrigin}/callback/formpost`);
    await page.goto(`${rpOrigin}/login/formpost`);
    const form = new URLSearchParams((await posted).postData());
    assert.deepEqual([...form.keys()].sort(), ["code", "state"]);
    await page.waitForURL(`${rpOrigin}/`);
    assert.equal(await page.textContent("#email"), "alice@example.com");
  });

  await check("the pages are keyboard accessible: labels, autofocus, Tab to the button", async () => {
    const fresh = await (await browser.newContext()).newPage();
    await fresh.goto(`${base}/if/flow/default-authentication-flow/`);
    assert.equal(await fresh.evaluate(() => document.activeElement?.getAttribute("name")), "uidField");
    assert.equal(await fresh.getByLabel("Email or Username").count(), 1);
    await fresh.keyboard.press("Tab");
    assert.equal(await fresh.evaluate(() => document.activeElement?.getAttribute("type")), "submit");
  });
} finally {
  await browser?.close();
  rp?.server.close();
  child.kill();
}
console.log(`${checks.length} checks passed`);
