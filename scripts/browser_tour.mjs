// A contractor's and a staff member's tour of `helpline demo` in headless Chromium: every page
// at 320 px and 1280 px, English and Spanish, signing in by keyboard only. Fails (exit 1) when a
// page scrolls sideways at 320 px, a focused control shows no focus ring, or a step does not
// land where it should. Screenshots go to $TOUR_OUT (default /tmp/tour) to be looked at.
//
//   cargo build --release
//   (cd scripts && npm install --no-save playwright-core)   # and Debian's chromium
//   node scripts/browser_tour.mjs [path/to/helpline]
//
// Not part of `cargo test`: it needs a browser the CI machine does not have.

import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const bin = process.argv[2] ?? "target/release/helpline";
const out = process.env.TOUR_OUT ?? "/tmp/tour";
const port = process.env.TOUR_PORT ?? "18080";
const base = `http://127.0.0.1:${port}`;
mkdirSync(out, { recursive: true });

const problems = [];
const problem = (text) => {
  problems.push(text);
  console.log(`PROBLEM ${text}`);
};

// Start the demo and read what it prints.
const demo = spawn(bin, ["demo"], {
  env: { ...process.env, HELPLINE_BIND: `127.0.0.1:${port}`, RUST_LOG: "warn" },
  stdio: ["ignore", "pipe", "inherit"],
});
const printed = await new Promise((resolve, reject) => {
  let text = "";
  demo.stdout.on("data", (chunk) => {
    text += chunk;
    if (text.includes("Press Ctrl-C")) resolve(text);
  });
  demo.on("exit", (code) => reject(new Error(`demo exited with ${code}: ${text}`)));
});
const staffPassword = printed.match(/staff@demo\.example \/ (\S+)/)[1];
const temporary = printed.match(/temporary password (\S+)/)[1];

// However the tour ends, the demo stops (and deletes its database).
process.on("exit", () => demo.kill("SIGINT"));
process.on("uncaughtException", (e) => {
  console.log(`FAILED ${e.message}`);
  process.exit(1);
});
process.on("unhandledRejection", (e) => {
  console.log(`FAILED ${e?.message ?? e}`);
  process.exit(1);
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});

/** Sideways scroll and focus rings on the page as it stands; a screenshot named `name`. */
async function check(page, name) {
  console.log(`${name}: ${page.url()}`);
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth,
    width: window.innerWidth,
  }));
  if (scroll > width) problem(`${name}: scrolls sideways (${scroll} px in ${width} px)`);
  // Tab through the first controls: each must show an outline or a box shadow.
  await page.evaluate(() => document.activeElement?.blur());
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press("Tab");
    const ring = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const s = getComputedStyle(el);
      const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
      return { tag: el.tagName, id: el.id || el.name || el.textContent.trim().slice(0, 30), ok: outline || s.boxShadow !== "none" };
    });
    if (ring && !ring.ok) problem(`${name}: no focus ring on ${ring.tag} ${ring.id}`);
  }
  await page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
}

async function expectText(page, text, step) {
  const body = await page.textContent("body");
  if (!body.includes(text)) problem(`${step}: expected "${text}" on ${page.url()}`);
}

for (const [lang, locale] of [
  ["en", "en-US"],
  ["es", "es-ES"],
]) {
  for (const width of [320, 1280]) {
    const ctx = await browser.newContext({ locale, viewport: { width, height: 800 } });
    const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
    page.setDefaultTimeout(15000);
    for (const path of ["/login", "/forgot", "/help", "/register"]) {
      const res = await page.goto(base + path);
      if (res.status() !== 200) problem(`${path} ${lang}: status ${res.status()}`);
      await check(page, `portal-${lang}-${width}${path.replace("/", "-")}`);
    }
    await ctx.close();
  }
}

// A contractor signs in with the temporary password by keyboard only and is asked to change it.
{
  const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 320, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(`${base}/login`);
  await page.focus("#username");
  await page.keyboard.type("C-1001");
  await page.keyboard.press("Tab");
  await page.keyboard.type(temporary);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  if (!page.url().includes("/change")) problem(`temporary password sign-in landed on ${page.url()}`);
  await check(page, "portal-en-320-change");
  // A registration that matches no roster entry becomes a ticket for staff.
  await page.goto(`${base}/register`);
  await page.fill("#license_number", "Z-555000");
  await page.fill("#business_name", "Tour Tiling");
  await page.fill("#contact_name", "Ana Tour");
  await page.fill("#phone", "303-555-0111");
  await page.fill("#email", "ana@tour-tiling.example");
  await page.fill("#password", "Tiles#2026");
  await page.fill("#confirm", "Tiles#2026");
  await page.selectOption("#question", { index: 1 });
  await page.fill("#answer", "granite");
  await page.fill("#answer_again", "granite");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/register'] button[type=submit]")]);
  await check(page, "portal-en-320-registered");
  await ctx.close();
}

// Staff: sign in by keyboard, the queue, the ticket with its account panel, the dashboard, admin.
for (const width of [320, 1280]) {
  const ctx = await browser.newContext({ locale: "en-US", viewport: { width, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(`${base}/staff/login`);
  await check(page, `staff-${width}-login`);
  await page.focus("#email");
  await page.keyboard.type("staff@demo.example");
  await page.keyboard.press("Tab");
  await page.keyboard.type(staffPassword);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  if (!page.url().endsWith("/staff")) problem(`staff sign-in landed on ${page.url()}`);
  await expectText(page, "Tour Tiling", "queue lists the registration");
  await check(page, `staff-${width}-queue`);
  const link = await page.$("a[href^='/staff/tickets/']");
  if (!link) {
    problem("the queue links to no ticket");
  } else {
    await Promise.all([page.waitForNavigation(), link.click()]);
    await expectText(page, "Account actions", "ticket page shows the account panel");
    await check(page, `staff-${width}-ticket`);
  }
  for (const path of ["/staff/dashboard", "/staff/admin"]) {
    const res = await page.goto(base + path);
    if (res.status() !== 200) problem(`${path}: status ${res.status()}`);
    await check(page, `staff-${width}${path.replaceAll("/", "-")}`);
  }
  await ctx.close();
}

await browser.close();
demo.kill("SIGINT");
console.log(`${problems.length} problem(s); screenshots in ${out}`);
process.exit(problems.length ? 1 : 0);
