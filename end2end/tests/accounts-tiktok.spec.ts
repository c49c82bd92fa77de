import { expect, test } from "@playwright/test";
import { connectCreator, signUp, uniqueEmail } from "./helpers";

test("a person connects two sandbox creators, sees them with avatars, and disconnects one", async ({ page }) => {
  await signUp(page, "Tara", uniqueEmail("tara"));
  await connectCreator(page, "Leo Private");
  await connectCreator(page, "Maya Public");

  const leo = page.locator('section[data-account="Leo Private"]');
  const maya = page.locator('section[data-account="Maya Public"]');
  await expect(leo.locator(".status")).toHaveText("Connected");
  await expect(maya.locator(".status")).toHaveText("Connected");
  // The avatar really loads: an image from TikTok's (the sandbox's) own origin, which the CSP
  // must allow as it allows TikTok's real avatar host.
  await expect.poll(() => maya.locator(".avatar-frame img").evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(leo).toContainText("Turned off by the creator");
  await expect(leo).toContainText("duets, stitches");
  await expect(maya).toContainText("Everyone");

  await leo.getByRole("button", { name: "Disconnect" }).click();
  await expect(leo.locator(".status")).toHaveText("Disconnected");
  await expect(leo.getByRole("button", { name: "Reconnect" })).toBeVisible();
  await expect(maya.locator(".status")).toHaveText("Connected");
  await expect(page.locator("body")).not.toContainText("act.");

  // Sandbox creators are shared by every journey, and a TikTok account can be live in only
  // one team, so leave none connected.
  await maya.getByRole("button", { name: "Disconnect" }).click();
  await expect(maya.locator(".status")).toHaveText("Disconnected");
});

test("declining on the consent screen connects nothing and says so", async ({ page }) => {
  await signUp(page, "Dan", uniqueEmail("dan"));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Accounts" }).click();
  await page.getByRole("button", { name: "Connect TikTok" }).click();
  await page.getByRole("link", { name: "Cancel" }).click();
  await expect(page).toHaveURL(/connect_error=denied/);
  await expect(page.getByRole("alert")).toContainText("TikTok access was not granted");
  await expect(page.getByText("No TikTok accounts are connected to this team yet.")).toBeVisible();
});
