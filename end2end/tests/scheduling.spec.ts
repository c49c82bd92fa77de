import { expect, test } from "@playwright/test";
import { connectCreator, disconnectCreator, hydrated, schedule, signUp, uniqueEmail, wallClock } from "./helpers";

test("a person schedules a post a minute ahead and watches it go out on the calendar, and drags another to a new day", async ({ page }) => {
  test.setTimeout(240_000);
  await signUp(page, "Cleo", uniqueEmail("cleo"));
  await connectCreator(page, "Maya Public");

  // One for later, to move by dragging: a week ahead, in a week it does not leave.
  const later = new Date(Date.now() + 8 * 24 * 3600 * 1000);
  later.setHours(10, 30, 0, 0);
  const laterId = await schedule(page, wallClock(later), "later");
  const laterDay = wallClock(later).slice(0, 10);
  const target = new Date(later);
  target.setDate(later.getDate() + (later.getDay() === 0 ? -1 : 1));
  const targetDay = wallClock(target).slice(0, 10);

  // One due in about two minutes.
  const soon = new Date(Date.now() + 150_000);
  const soonId = await schedule(page, wallClock(soon), "soon");

  await page.goto(`/calendar?span=week&date=${laterDay}`);
  await hydrated(page);
  const entry = page.locator(`a.entry[href="/posts/${laterId}"]`);
  await expect(page.locator(`td[data-date="${laterDay}"]`)).toContainText("10:30");
  await entry.dragTo(page.locator(`td[data-date="${targetDay}"]`));
  await expect(page.getByRole("status")).toContainText("Moved to");
  await expect(page.locator(`td[data-date="${targetDay}"] a.entry[href="/posts/${laterId}"]`)).toContainText("10:30");
  await expect(page.locator(`td[data-date="${laterDay}"] a.entry`)).toHaveCount(0);

  // The scheduler sends the other one when it is due.
  await page.goto(`/calendar?span=week&date=${wallClock(soon).slice(0, 10)}`);
  const soonEntry = page.locator(`a.entry[href="/posts/${soonId}"]`);
  await expect(soonEntry).toHaveClass(/state-scheduled/);
  await expect(async () => {
    await page.reload();
    await expect(soonEntry).toHaveClass(/state-published/, { timeout: 1_000 });
  }).toPass({ timeout: 200_000, intervals: [5_000] });
  await soonEntry.click();
  // The public id comes after TikTok's moderation; the page follows it until then.
  await expect(page.locator(".post-state .badge")).toHaveText("Live on TikTok", { timeout: 60_000 });
  await expect(page.locator(".post-id")).toHaveText(/^\d{19}$/);

  await disconnectCreator(page, "Maya Public");
});

test("a person fixes a scheduled post's caption and audience in place, is told why a half-made disclosure cannot be saved, and notes it in the comments", async ({ page }) => {
  test.setTimeout(120_000);
  await signUp(page, "Edda", uniqueEmail("edda"));
  await connectCreator(page, "Maya Public");
  const later = new Date(Date.now() + 3 * 24 * 3600 * 1000);
  later.setHours(9, 15, 0, 0);
  const id = await schedule(page, wallClock(later), "Lanch day");

  await page.locator("#post-edit").click();
  const form = page.locator("form.edit-post");
  // The creator's options are asked again; until TikTok answers, saving waits.
  await expect(form.getByLabel("Who can see this post").locator("option", { hasText: "Friends" })).toHaveCount(1);
  await expect(form.getByLabel("Caption")).toHaveValue("Lanch day");
  await form.getByLabel("Caption").fill("Launch day #cadence");
  await form.getByLabel("Who can see this post").selectOption({ label: "Friends" });
  await form.getByLabel("Comment").check();

  // A commercial post must say whose brand it promotes, as TikTok requires.
  await form.getByLabel("This video promotes a brand, product or service").check();
  await expect(form.locator("#edit-save")).toBeDisabled();
  await expect(form.locator(".blocked")).toHaveText("You need to indicate if your content promotes yourself, a third party, or both.");
  await form.getByLabel("This video promotes a brand, product or service").uncheck();

  later.setHours(18, 45, 0, 0);
  await form.getByLabel("When (your time)").fill(wallClock(later));
  await form.locator("#edit-save").click();
  await expect(form).toHaveCount(0);
  await expect(page.locator(".facts")).toContainText("Launch day #cadence");
  await expect(page.locator(".facts")).toContainText("Friends");
  await expect(page.locator(".facts .when")).toContainText("18:45");
  await expect(page.locator(".timeline")).toContainText("Edited: caption, who can see it, interactions, time.");
  await expect(page).toHaveURL(new RegExp(`/posts/${id}$`));

  // The team's thread beside the timeline: who said what, when.
  const comments = page.locator("section.comments");
  await expect(comments).toContainText("No comments yet.");
  await comments.getByLabel("Add a comment").fill("Fixed the typo the client spotted.");
  await comments.getByRole("button", { name: "Comment" }).click();
  await expect(comments.locator(".comment")).toHaveCount(1);
  await expect(comments.locator(".comment-author")).toHaveText("Edda");
  await expect(comments.locator(".comment-body")).toHaveText("Fixed the typo the client spotted.");
  await expect(comments.getByLabel("Add a comment")).toHaveValue("");
  await comments.getByRole("button", { name: "Delete" }).click();
  await expect(comments).toContainText("No comments yet.");
  await disconnectCreator(page, "Maya Public");
});

test("on a phone the calendar is an agenda of the days that hold posts, each post a row to tap", async ({ page }) => {
  test.setTimeout(120_000);
  await signUp(page, "Pia", uniqueEmail("pia"));
  await connectCreator(page, "Maya Public");
  const later = new Date(Date.now() + 2 * 24 * 3600 * 1000);
  later.setHours(8, 30, 0, 0);
  const id = await schedule(page, wallClock(later), "Phone launch");
  const day = wallClock(later).slice(0, 10);

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`/calendar?date=${day}`);
  await hydrated(page);
  await expect(page.locator("table.calendar thead")).toBeHidden();
  const cell = page.locator(`td[data-date="${day}"]`);
  await expect(cell.locator(".day-label")).toBeVisible();
  const entry = cell.locator(`a.entry[href="/posts/${id}"]`);
  await expect(entry).toContainText("08:30");
  await expect(entry.locator(".entry-caption")).toHaveText("Phone launch");
  await expect(entry.locator(".entry-state")).toHaveText("Scheduled");
  // Only days with posts (and today) take the small screen.
  const shown = await page.locator("td.day").evaluateAll((cells) =>
    cells.filter((td) => getComputedStyle(td).display !== "none").map((td) => Boolean(td.querySelector("a.entry")) || td.classList.contains("today")),
  );
  expect(shown.length).toBeGreaterThan(0);
  expect(shown.length).toBeLessThanOrEqual(2);
  expect(shown.every(Boolean)).toBe(true);
  const box = await entry.boundingBox();
  expect(box!.height).toBeGreaterThanOrEqual(40);
  await entry.click();
  await expect(page).toHaveURL(new RegExp(`/posts/${id}$`));

  await page.setViewportSize({ width: 1280, height: 800 });
  await disconnectCreator(page, "Maya Public");
});
