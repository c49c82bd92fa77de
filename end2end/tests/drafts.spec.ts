import { expect, test } from "@playwright/test";
import { connectCreator, disconnectCreator, hydrated, signUp, syntheticMp4, uniqueEmail, wallClock } from "./helpers";

test("a video saved as a draft without an account is finished later and scheduled", async ({ page }) => {
  test.setTimeout(120_000);
  await signUp(page, "Dana", uniqueEmail("dana"));
  await connectCreator(page, "Leo Private");

  // Only a video and a caption: no account, no time. (Leo: Maya's creator_info calls are
  // counted per creator, and the other journeys spend most of her 20 a minute.)
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New post" }).click();
  await hydrated(page);
  await expect(page.locator("#composer-draft")).toBeDisabled();
  await page.locator("#composer-video").setInputFiles({ name: "idea.mp4", mimeType: "video/mp4", buffer: syntheticMp4(20, 1_500_000) });
  await page.getByLabel("Caption").fill("An idea for Friday");
  await expect(page.locator(".phone-caption")).toHaveText("An idea for Friday");
  await page.locator("#composer-draft").click();
  await expect(page).toHaveURL(/\/drafts\/[0-9a-f-]{36}$/);
  await hydrated(page);

  // In the list, then opened again and finished.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Drafts" }).click();
  const row = page.locator("table.drafts tbody tr");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("Not chosen yet");
  await row.getByRole("link", { name: "An idea for Friday" }).click();
  await hydrated(page);
  await expect(page.locator("#draft-schedule")).toBeDisabled();
  await expect(page.locator(".blocked")).toHaveText("Choose the TikTok account to post to.");
  await page.getByLabel("TikTok account").selectOption({ label: "Leo Private" });
  await page.getByLabel("Caption").fill("An idea for Friday #launch");
  await page.locator("#draft-save").click();
  await expect(page.getByRole("status")).toHaveText("Draft saved.");
  await expect(page.locator(".blocked")).toHaveText("Choose who can see this post.");
  await page.getByLabel("Who can see this post").selectOption({ label: "Followers" });
  const when = new Date(Date.now() + 3 * 24 * 3600 * 1000);
  when.setHours(10, 0, 0, 0);
  await page.getByLabel("When (your time)").fill(wallClock(when));
  await page.locator("#draft-schedule").click();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/);
  await expect(page.locator(".post-state .badge")).toHaveText("Scheduled");
  await expect(page.locator(".facts")).toContainText("An idea for Friday #launch");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Drafts" }).click();
  await expect(page.locator(".empty")).toContainText("No drafts.");
  await disconnectCreator(page, "Leo Private");
});
