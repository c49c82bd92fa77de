import { Browser, expect, Page } from "@playwright/test";

/** Every journey password contains this marker so scripts/test can grep logs for leaks. */
export const PASSWORD = "journey-secret horse battery";

/** A unique e-mail per run, so journeys never collide on a reused database. */
export function uniqueEmail(name: string): string {
  return `${name.toLowerCase()}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** Waits until the wasm bundle has hydrated the page (forms then submit without reloads). */
export async function hydrated(page: Page): Promise<void> {
  await page.locator("body[data-hydrated]").waitFor({ state: "attached" });
}

export async function signUp(page: Page, name: string, email: string, path = "/signup"): Promise<void> {
  await page.goto(path);
  await hydrated(page);
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Welcome, ${name}`);
}

export async function logIn(page: Page, email: string): Promise<void> {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
}

export async function logOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
}

/** Clicks "Connect TikTok", picks `creator` on the sandbox consent screen and authorizes. */
export async function connectCreator(page: Page, creator: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
  await page.getByRole("button", { name: "Connect TikTok" }).click();
  await expect(page.getByRole("heading", { name: "TikTok sandbox" })).toBeVisible();
  // TikTok's consent screen is another origin, as www.tiktok.com is in production: the hand-off
  // must pass Cadence's CSP (form-action) and come back with the session cookie.
  expect(new URL(page.url()).origin).not.toBe(new URL(process.env.BASE_URL ?? "http://127.0.0.1:3000").origin);
  await page.getByLabel(creator).check();
  await page.getByRole("button", { name: "Authorize" }).click();
  await expect(page).toHaveURL(/\/accounts\?connected=1$/);
  await expect(page.getByRole("status")).toHaveText("TikTok account connected.");
}

/** Opens the composer and picks the first (only) connected account. */
export async function compose(page: Page, creator: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New post" }).click();
  await hydrated(page);
  await page.getByLabel("TikTok account").selectOption({ index: 1 });
  await expect(page.locator(".creator")).toContainText(`Posting to ${creator}`);
}

/**
 * Disconnects `creator` on the Accounts page. Sandbox creators are shared by every journey and
 * a TikTok account can be live in only one team, so each journey leaves none connected.
 */
export async function disconnectCreator(page: Page, creator: string): Promise<void> {
  await page.goto("/accounts");
  await hydrated(page);
  const card = page.locator(`section[data-account="${creator}"]`);
  await card.getByRole("button", { name: "Disconnect" }).click();
  await expect(card.locator(".status")).toHaveText("Disconnected");
}

function isoBox(kind: string, body: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(body.length + 8, 0);
  header.write(kind, 4, "latin1");
  return Buffer.concat([header, body]);
}

/**
 * A synthetic MP4 of `size` bytes lasting `seconds`: a real container header (what Cadence and
 * the sandbox read), then zero filler. Generated per run, so no video is committed.
 */
export function syntheticMp4(seconds: number, size: number, width = 720, height = 1280): Buffer {
  const mvhd = Buffer.alloc(100);
  mvhd.writeUInt32BE(1000, 12);
  mvhd.writeUInt32BE(seconds * 1000, 16);
  const tkhd = Buffer.alloc(84);
  tkhd.writeUInt32BE(width * 65536, 76);
  tkhd.writeUInt32BE(height * 65536, 80);
  const moov = isoBox("moov", Buffer.concat([isoBox("mvhd", mvhd), isoBox("trak", isoBox("tkhd", tkhd))]));
  const head = Buffer.concat([isoBox("ftyp", Buffer.from("isom\0\0\x02\0isomiso2avc1mp41", "latin1")), moov]);
  const mdat = Buffer.alloc(8);
  mdat.writeUInt32BE(size - head.length, 0);
  mdat.write("mdat", 4, "latin1");
  return Buffer.concat([head, mdat, Buffer.alloc(size - head.length - 8)]);
}

/** `YYYY-MM-DDTHH:MM` on this machine's wall clock (the browser's, which sign-up recorded). */
export function wallClock(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export async function schedule(page: Page, when: string, caption: string): Promise<string> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New post" }).click();
  await hydrated(page);
  await page.getByLabel("TikTok account").selectOption({ index: 1 });
  await expect(page.locator(".creator")).toContainText("Posting to Maya Public");
  await page.locator("#composer-video").setInputFiles({ name: `${caption}.mp4`, mimeType: "video/mp4", buffer: syntheticMp4(20, 2_000_000) });
  await page.getByLabel("Who can see this post").selectOption({ label: "Everyone" });
  await page.getByLabel("Caption").fill(caption);
  await page.getByLabel("Schedule", { exact: true }).check();
  await page.getByLabel("When (your time)").fill(when);
  await page.locator("#composer-publish").click();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/);
  await expect(page.locator(".post-state .badge")).toHaveText("Scheduled");
  return page.url().split("/posts/")[1];
}

/**
 * A real, playable WebM the browser records from a canvas painted `color` (VP8, about `ms`
 * long), for journeys that need frames a browser can decode, such as the thumbnail the
 * composer draws. Made per run in the page, so no video is committed.
 */
export async function recordedWebm(page: Page, color: string, ms = 1200): Promise<Buffer> {
  const base64 = await page.evaluate(async ({ color, ms }) => {
    const canvas = document.createElement("canvas");
    canvas.width = 360;
    canvas.height = 640;
    const context = canvas.getContext("2d")!;
    const recorder = new MediaRecorder(canvas.captureStream(30), { mimeType: "video/webm;codecs=vp8" });
    const pieces: Blob[] = [];
    recorder.ondataavailable = (event) => pieces.push(event.data);
    const stopped = new Promise((done) => (recorder.onstop = done));
    recorder.start(100);
    const started = performance.now();
    await new Promise<void>((done) => {
      const paint = setInterval(() => {
        context.fillStyle = color;
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.fillStyle = "#fff";
        context.font = "48px sans-serif";
        context.fillText(String(Math.round(performance.now() - started)), 40, 320);
        if (performance.now() - started > ms) {
          clearInterval(paint);
          done();
        }
      }, 33);
    });
    recorder.stop();
    await stopped;
    const bytes = new Uint8Array(await new Blob(pieces, { type: "video/webm" }).arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }, { color, ms });
  return Buffer.from(base64, "base64");
}

/** Waits until `video` has a frame to show (HAVE_CURRENT_DATA), as a person would see it. */
export async function videoShowsAFrame(page: Page, selector: string): Promise<void> {
  await page.waitForFunction((selector) => {
    const video = document.querySelector(selector) as HTMLVideoElement | null;
    return !!video && video.readyState >= 2 && video.videoWidth > 0;
  }, selector);
}

/** Waits until the image at `selector` has loaded and is a real picture. */
export async function imageLoaded(page: Page, selector: string): Promise<void> {
  await page.waitForFunction((selector) => {
    const image = document.querySelector(selector) as HTMLImageElement | null;
    return !!image && image.complete && image.naturalWidth > 0;
  }, selector);
}

/** Ada signs up in a browser of her own and switches "posts need approval" on (Team page). */
export async function ownerRequiringApproval(browser: Browser): Promise<Page> {
  const owner = await (await browser.newContext()).newPage();
  await signUp(owner, "Ada", uniqueEmail("ada"));
  await owner.getByRole("link", { name: "Team" }).click();
  await hydrated(owner);
  await owner.locator("#approval-required").check();
  await expect(owner.locator("#approval-required")).toBeChecked();
  return owner;
}

/**
 * A team that needs approval: Ada (owner, an approver) switches it on and invites Eli as an
 * editor, who joins in a browser of his own; `creators` are connected for the team by Ada.
 */
export async function teamNeedingApproval(browser: Browser, creators: string[]): Promise<{ owner: Page; editor: Page }> {
  const owner = await ownerRequiringApproval(browser);
  await owner.getByLabel("Role", { exact: true }).selectOption({ label: "Editor" });
  await owner.getByRole("button", { name: "Create invite link" }).click();
  const link = await owner.locator("#invite-link").inputValue();
  for (const creator of creators) {
    await connectCreator(owner, creator);
  }
  const editor = await (await browser.newContext()).newPage();
  await editor.goto(link);
  await editor.getByRole("link", { name: "Create an account to join" }).click();
  await signUp(editor, "Eli", uniqueEmail("eli"), editor.url().replace(/^https?:\/\/[^/]+/, ""));
  return { owner, editor };
}

/**
 * A real JPEG of `width`×`height` the browser paints `color` with `label` on it, for photo
 * posts: decodable, so the composer can draw it, and sized as TikTok's limits count.
 */
export async function paintedJpeg(page: Page, color: string, label: string, width = 540, height = 960): Promise<Buffer> {
  const base64 = await page.evaluate(async ({ color, label, width, height }) => {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext("2d")!;
    context.fillStyle = color;
    context.fillRect(0, 0, width, height);
    context.fillStyle = "#fff";
    context.font = "64px sans-serif";
    context.fillText(label, 40, height / 2);
    const blob = await new Promise<Blob>((done) => canvas.toBlob((b) => done(b!), "image/jpeg", 0.85));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }, { color, label, width, height });
  return Buffer.from(base64, "base64");
}
