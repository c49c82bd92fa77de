import { expect, Page, test } from "@playwright/test";
import { connectCreator, disconnectCreator, hydrated, imageLoaded, paintedJpeg, signUp, uniqueEmail, wallClock } from "./helpers";

/** Opens the composer for `creator`, switches it to photos and picks `count` painted JPEGs. */
async function composeCarousel(page: Page, creator: string, count: number): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New post" }).click();
  await hydrated(page);
  // The only connected account (its option reads "Name (@username)").
  await page.getByLabel("TikTok account").selectOption({ index: 1 });
  await expect(page.locator(".creator")).toContainText(`Posting to ${creator}`);
  await page.locator("#composer-kind-photos").check();
  const colors = ["#d03060", "#2050d0", "#20a060", "#c08020"];
  const files = [];
  for (let i = 0; i < count; i++) {
    files.push({ name: `photo-${i + 1}.jpg`, mimeType: "image/jpeg", buffer: await paintedJpeg(page, colors[i % colors.length], `#${i + 1}`) });
  }
  await page.locator("#composer-photos").setInputFiles(files);
  await expect(page.locator(".photo-grid li")).toHaveCount(count);
  for (let i = 0; i < count; i++) {
    await imageLoaded(page, `.photo-grid img[data-index="${i}"]`);
  }
}

// Photo journeys use Sam and Leo: Maya's creator_info calls (20 a minute) go to other journeys.
test("a person posts a photo carousel now, with a cover and a title, and sees TikTok download and publish it", async ({ page }) => {
  test.setTimeout(120_000);
  await signUp(page, "Noor", uniqueEmail("noor"));
  await connectCreator(page, "Short Clips Sam");
  await composeCarousel(page, "Short Clips Sam", 3);
  const publish = page.locator("#composer-publish");

  // Photos have a description (4000) rather than a caption, and no duet or stitch.
  await expect(page.getByLabel("Description")).toBeVisible();
  await expect(page.getByLabel("Duet")).toHaveCount(0);
  await expect(page.getByLabel("Stitch")).toHaveCount(0);
  await expect(page.locator(".composer")).toContainText("3 photos");
  await page.locator('input[name="photo-cover"][value="1"]').check();
  await expect(page.locator(".photo-grid li.cover img")).toHaveAttribute("data-index", "1");

  // TikTok counts the title to 90: a longer one holds the post back.
  await page.getByLabel("Title").fill("x".repeat(91));
  await page.getByLabel("Who can see this post").selectOption({ label: "Everyone" });
  await expect(publish).toBeDisabled();
  await page.getByLabel("Title").fill("Weekend trip");
  await page.getByLabel("Description").fill("Three days in photos #cadence");
  await page.getByLabel("Add music automatically").check();
  await expect(publish).toBeEnabled();
  await publish.click();

  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  const id = page.url().split("/posts/")[1];
  await hydrated(page);
  await expect(page.locator(".facts .photo-title")).toHaveText("Weekend trip");
  await expect(page.locator(".facts .photo-count")).toContainText("3 photos");
  await expect(page.locator(".photo-strip img")).toHaveCount(3);
  for (let i = 1; i <= 3; i++) {
    await imageLoaded(page, `.photo-strip li:nth-child(${i}) img`);
  }
  await expect(page.locator(".photo-strip li:nth-child(2) img")).toHaveAttribute("src", new RegExp(`^/posts/${id}/photos/1`));
  await expect(page.locator("ol.timeline")).toContainText("TikTok is downloading the 3 photos");
  await expect(page.locator(".post-state .badge")).toHaveText("Live on TikTok", { timeout: 60_000 });
  // The timeline speaks of photos throughout.
  await expect(page.locator("ol.timeline")).toContainText("Created; sending the photos to TikTok.");
  await expect(page.locator("ol.timeline")).not.toContainText("video");

  // The list shows it by its cover, as the browser drew it.
  await page.getByRole("link", { name: "Posts", exact: true }).click();
  await imageLoaded(page, `tr[data-post="${id}"] img.thumb`);
  await expect(page.locator(`tr[data-post="${id}"]`)).toContainText("Live on TikTok");
  await disconnectCreator(page, "Short Clips Sam");
});

test("a person schedules a photo carousel, finds it on the calendar by its cover, and the scheduler has TikTok pull it when due", async ({ page }) => {
  test.setTimeout(240_000);
  await signUp(page, "Ines", uniqueEmail("ines"));
  await connectCreator(page, "Leo Private");
  await composeCarousel(page, "Leo Private", 2);

  // An image TikTok would refuse is named before anything is sent.
  await page.locator("#composer-photos").setInputFiles([
    { name: "ok.jpg", mimeType: "image/jpeg", buffer: await paintedJpeg(page, "#2050d0", "ok") },
    { name: "notes.jpg", mimeType: "image/jpeg", buffer: Buffer.from("not a picture at all") },
  ]);
  await expect(page.locator(".photo-grid li.refused")).toHaveCount(1);
  await expect(page.locator(".photo-grid li.refused .field-error")).toContainText("JPEG or WebP");
  await expect(page.locator("#composer-publish")).toBeDisabled();
  await composeCarousel(page, "Leo Private", 2);

  await page.getByLabel("Who can see this post").selectOption({ label: "Followers" });
  await page.getByLabel("Title").fill("Before and after");
  await page.getByLabel("Description").fill("The studio, then and now");
  const soon = new Date(Date.now() + 150_000);
  await page.getByLabel("Schedule", { exact: true }).check();
  await page.getByLabel("When (your time)").fill(wallClock(soon));
  await page.locator("#composer-publish").click();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  const id = page.url().split("/posts/")[1];
  await expect(page.locator(".post-state .badge")).toHaveText("Scheduled");
  await expect(page.locator(".facts .photo-count")).toContainText("2 photos");

  // Fixed in place before it is due: the title and the cover, its images as they are.
  await hydrated(page);
  await page.locator("#post-edit").click();
  const form = page.locator("form.edit-post");
  await expect(form.locator(".photo-grid img")).toHaveCount(2);
  await expect(form.getByLabel("Duet")).toHaveCount(0);
  await form.getByLabel("Title").fill("After and before");
  await form.locator('input[name="edit-photo-cover"][value="1"]').check();
  await imageLoaded(page, '.edit-post .photo-grid img[data-index="1"]');
  await form.locator("#edit-save").click();
  await expect(form).toHaveCount(0);
  await expect(page.locator(".timeline")).toContainText("Edited: title, cover photo.");
  await expect(page.locator(".facts .photo-title")).toHaveText("After and before");

  await page.goto(`/calendar?span=week&date=${wallClock(soon).slice(0, 10)}`);
  const entry = page.locator(`a.entry[href="/posts/${id}"]`);
  await imageLoaded(page, `a.entry[href="/posts/${id}"] img.entry-thumb`);
  await expect(entry).toHaveClass(/state-scheduled/);
  await expect(async () => {
    await page.reload();
    await expect(entry).toHaveClass(/state-published/, { timeout: 1_000 });
  }).toPass({ timeout: 200_000, intervals: [5_000] });
  await entry.click();
  await hydrated(page);
  // A followers-only post has no public link: "Published" is the end.
  await expect(page.locator(".post-state .badge")).toHaveText("Published");
  await expect(page.locator("ol.timeline")).toContainText("TikTok downloads the photos");
  await expect(page.locator("ol.timeline")).toContainText("Published on TikTok");
  await expect(page.locator("ol.timeline")).not.toContainText("video");
  await expect(page.locator("#post-edit")).toHaveCount(0);
  await disconnectCreator(page, "Leo Private");
});

test("a person keeps a carousel as a draft, changes its title and cover there, and schedules it", async ({ page }) => {
  test.setTimeout(120_000);
  await signUp(page, "Tove", uniqueEmail("tove"));
  await connectCreator(page, "Leo Private");
  await composeCarousel(page, "Leo Private", 3);
  await page.getByLabel("Title").fill("Work in progress");
  await page.locator("#composer-draft").click();
  await expect(page).toHaveURL(/\/drafts\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await hydrated(page);
  const draft = page.locator("form.draft");
  await expect(draft.locator(".photo-grid img")).toHaveCount(3);
  for (let i = 0; i < 3; i++) {
    await imageLoaded(page, `form.draft .photo-grid img[data-index="${i}"]`);
  }
  await expect(draft.getByLabel("Title")).toHaveValue("Work in progress");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Drafts" }).click();
  await expect(page.locator("table.drafts tbody tr")).toHaveCount(1);
  await expect(page.locator("table.drafts tbody tr")).toContainText("3 photos");
  await imageLoaded(page, "table.drafts tbody tr img.thumb");
  await page.locator("table.drafts tbody tr a").click();
  await hydrated(page);

  await draft.getByLabel("Title").fill("Finished");
  await draft.locator('input[name="draft-photo-cover"][value="2"]').check();
  await draft.locator("#draft-save").click();
  await expect(page.getByRole("status")).toHaveText("Draft saved.");
  await page.reload();
  await hydrated(page);
  await expect(draft.getByLabel("Title")).toHaveValue("Finished");
  await expect(draft.locator('input[name="draft-photo-cover"][value="2"]')).toBeChecked();

  await draft.getByLabel("TikTok account").selectOption({ label: "Leo Private" });
  await draft.getByLabel("Who can see this post").selectOption({ label: "Only me" });
  const when = new Date(Date.now() + 2 * 24 * 3600 * 1000);
  when.setHours(11, 0, 0, 0);
  await draft.getByLabel("When (your time)").fill(wallClock(when));
  await draft.locator("#draft-schedule").click();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/);
  await expect(page.locator(".post-state .badge")).toHaveText("Scheduled");
  await expect(page.locator(".facts .photo-title")).toHaveText("Finished");
  await expect(page.locator(".facts .photo-count")).toContainText("3 photos");
  await disconnectCreator(page, "Leo Private");
});
