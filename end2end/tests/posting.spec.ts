import { expect, Page, test } from "@playwright/test";
import { compose, connectCreator, disconnectCreator, hydrated, signUp, syntheticMp4, uniqueEmail } from "./helpers";

/** Slows the browser's uploads so the progress bar can be watched. */
async function throttleUploads(page: Page, bytesPerSecond: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond,
  });
}

test("a person posts a video now, watches the upload, and sees it published with its TikTok post id", async ({ page }) => {
  await signUp(page, "Pia", uniqueEmail("pia"));
  await connectCreator(page, "Maya Public");
  await compose(page, "Maya Public");
  const publish = page.locator("#composer-publish");

  await page.locator("#composer-video").setInputFiles({ name: "launch.mp4", mimeType: "video/mp4", buffer: syntheticMp4(20, 4_000_000) });
  await expect(page.locator(".composer")).toContainText("4.0 MB · 0:20 · 720×1280");
  // No audience is chosen for the person: the post waits for them.
  await expect(page.getByLabel("Who can see this post")).toHaveValue("");
  await expect(publish).toBeDisabled();
  await expect(publish).toHaveAttribute("title", "Choose who can see this post.");
  await page.getByLabel("Who can see this post").selectOption({ label: "Everyone" });
  await page.getByLabel("Caption").fill("Launch day #cadence @maya.public");
  await expect(page.locator(".consent")).toHaveText("By posting, you agree to TikTok's Music Usage Confirmation.");

  // A first try is cancelled half-way: nothing is posted.
  await throttleUploads(page, 1_000_000);
  await expect(publish).toBeEnabled();
  await publish.click();
  const progress = page.locator(".upload-progress");
  await expect(progress.locator("progress")).toBeVisible();
  await expect(progress).toContainText(/\d+% · .* of 4\.0 MB · .*\/s/);
  await page.getByRole("button", { name: "Cancel upload" }).click();
  await expect(page.locator(".composer .form-error")).toHaveText("Upload cancelled. Nothing was posted.");

  // The second goes through; the bar reaches 100% and the post page follows it to the end.
  await throttleUploads(page, 4_000_000);
  await publish.click();
  await expect(progress.locator("progress")).toBeVisible();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  // TikTok publishes first and gives the public id only after moderation ("Published — waiting
  // for TikTok's moderation" meanwhile; the sandbox moderates for 5 s), then the link.
  await expect(page.locator(".post-state .badge")).toHaveText("Live on TikTok", { timeout: 60_000 });
  await expect(page.locator(".post-id")).toHaveText(/^\d{19}$/);
  await expect(page.locator("a.tiktok-link")).toHaveAttribute("href", /^https:\/\/www\.tiktok\.com\/@[^/]+\/video\/\d{19}$/);
  await expect(page.locator("ol.timeline")).toContainText("TikTok accepted the post");
  await expect(page.locator("ol.timeline")).toContainText("Uploaded 4.0 MB");

  await page.getByRole("link", { name: "Posts", exact: true }).click();
  await expect(page.locator("table.posts tbody tr")).toHaveCount(1);
  await expect(page.locator("table.posts")).toContainText("Live on TikTok");

  // The same video to the creator's TikTok inbox instead.
  await compose(page, "Maya Public");
  await page.locator("#composer-video").setInputFiles({ name: "draft.mp4", mimeType: "video/mp4", buffer: syntheticMp4(15, 1_000_000) });
  await page.getByLabel(/Send to TikTok inbox/).check();
  await expect(page.getByLabel("Who can see this post")).toHaveCount(0);
  await page.getByRole("button", { name: "Send to inbox" }).click();
  await expect(page.locator(".post-state .badge")).toHaveText("Sent to TikTok inbox", { timeout: 30_000 });
  await expect(page.locator("ol.timeline")).toContainText("inbox notification");

  await disconnectCreator(page, "Maya Public");
});

test("the composer follows TikTok's posting rules", async ({ page }) => {
  await signUp(page, "Rui", uniqueEmail("rui"));
  await connectCreator(page, "Leo Private");
  await compose(page, "Leo Private");
  const publish = page.locator("#composer-publish");

  // Only the audiences TikTok offers this private account, none chosen.
  const privacy = page.getByLabel("Who can see this post");
  await expect(privacy).toHaveValue("");
  await expect(privacy.locator("option:not([disabled])")).toHaveText(["Followers", "Friends", "Only me"]);
  // Interactions start off; the ones Leo turned off in TikTok are greyed out.
  await expect(page.getByLabel("Comment")).not.toBeChecked();
  await expect(page.getByLabel("Comment")).toBeEnabled();
  await expect(page.getByLabel("Duet")).toBeDisabled();
  await expect(page.getByLabel("Stitch")).toBeDisabled();

  // Too long for the account: refused before anything is sent.
  await page.locator("#composer-video").setInputFiles({ name: "long.mp4", mimeType: "video/mp4", buffer: syntheticMp4(400, 500_000) });
  await expect(page.locator(".composer")).toContainText("The video is 6:40 long; this account may post at most 5:00. Trim it and upload again.");
  await expect(publish).toBeDisabled();
  await page.locator("#composer-video").setInputFiles({ name: "ok.mp4", mimeType: "video/mp4", buffer: syntheticMp4(30, 500_000) });
  await privacy.selectOption({ label: "Friends" });
  await expect(publish).toBeEnabled();

  // Commercial content needs a kind; branded content cannot be private.
  await page.getByLabel("This video promotes a brand, product or service").check();
  await expect(publish).toBeDisabled();
  await expect(publish).toHaveAttribute("title", "You need to indicate if your content promotes yourself, a third party, or both.");
  await page.getByLabel("Branded content").check();
  await expect(page.locator(".composer")).toContainText("Your video will be labeled “Paid partnership”.");
  await expect(page.locator(".consent")).toHaveText(
    "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation.",
  );
  await expect(privacy.locator('option[value="SELF_ONLY"]')).toBeDisabled();
  await expect(publish).toBeEnabled();
  await page.getByLabel("Branded content").uncheck();
  await page.getByLabel("Your brand").check();
  await expect(page.locator(".composer")).toContainText("Your video will be labeled “Promotional content”.");
  await privacy.selectOption({ label: "Only me" });
  await expect(page.getByLabel("Branded content")).toBeDisabled();
  await expect(page.locator(".composer")).toContainText("Branded content visibility cannot be set to private.");

  await disconnectCreator(page, "Leo Private");
});
