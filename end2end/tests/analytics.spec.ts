import { expect, test } from "@playwright/test";
import { compose, connectCreator, disconnectCreator, hydrated, signUp, syntheticMp4, uniqueEmail } from "./helpers";

// scripts/test starts the journey server with CADENCE_ANALYTICS=on, so connecting asks TikTok
// for video.list and user.info.stats and the collection job runs every minute.
test("after a post is published, its account's analytics chart the followers and list the post, and the post shows its figures", async ({ page }) => {
  test.setTimeout(240_000);
  await signUp(page, "Ana", uniqueEmail("ana"));
  await connectCreator(page, "Maya Public");
  await compose(page, "Maya Public");
  const caption = `Numbers day ${Date.now()}`;
  await page.locator("#composer-video").setInputFiles({ name: "numbers.mp4", mimeType: "video/mp4", buffer: syntheticMp4(12, 1_000_000) });
  await page.getByLabel("Who can see this post").selectOption({ label: "Everyone" });
  await page.getByLabel("Caption").fill(caption);
  await page.locator("#composer-publish").click();
  await expect(page).toHaveURL(/\/posts\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  const postPath = new URL(page.url()).pathname;
  await expect(page.locator(".post-state .badge")).toHaveText("Live on TikTok", { timeout: 60_000 });

  // The team's analytics list the account; its own page reads the figures on request. The
  // minute job may just have read them (before the post was live), in which case Cadence says
  // so and the person asks again a minute later.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Analytics" }).click();
  await page.locator("table.account-summary").getByRole("link", { name: "Maya Public" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Analytics: Maya Public");
  await hydrated(page);
  await expect(async () => {
    await page.getByRole("button", { name: "Read figures now" }).click();
    await expect(page.locator("p.success")).toHaveText(/^Read \d+ videos? from TikTok\.$/, { timeout: 5_000 });
  }).toPass({ timeout: 100_000, intervals: [15_000] });

  // The post, matched by TikTok's post id, links back to it.
  const row = page.locator("table.video-table tr.video-row", { hasText: caption });
  await expect(row.getByRole("link", { name: caption })).toHaveAttribute("href", postPath);
  await expect(row.locator("td.views")).toHaveText(/^\d+$/);
  // The followers chart has readings, described for screen readers, with the same numbers in
  // its table and CSV.
  const followers = page.locator("svg.chart[aria-labelledby^='followers-']");
  await expect(followers.locator("desc")).toHaveText(/^\d+ readings? from .+; lowest \d+, highest \d+\.$/);
  const firstReading = page.locator("section.card", { hasText: "Followers over the last" }).locator("table.chart-table tbody tr").first();
  await expect(firstReading.locator("td").nth(1)).toHaveText(/^[1-9]\d*$/);
  const count = (await firstReading.locator("td").nth(1).textContent()) ?? "";
  const csv = decodeURIComponent((await page.getByRole("link", { name: "Download followers (CSV)" }).getAttribute("href")) ?? "");
  expect(csv).toContain(`,${count}\n`);

  // The team page now counts the video; the post's page shows its own figures.
  await page.getByRole("link", { name: "All accounts" }).click();
  const summary = page.locator("table.account-summary tbody tr", { hasText: "Maya Public" });
  await expect(summary.locator("td").nth(3)).toHaveText(/^[1-9]\d*$/);
  await expect(summary.locator("td").nth(6)).toHaveText(/^Read /);
  const top = decodeURIComponent((await page.getByRole("link", { name: "Download top posts (CSV)" }).getAttribute("href")) ?? "");
  expect(top).toContain(`Maya Public,`);
  expect(top).toContain(`,${caption},`);
  await page.goto(postPath);
  await expect(page.locator(".post-analytics .post-figures")).toHaveText(/^\d+ views · \d+ likes · \d+ comments · \d+ shares · engagement /);

  await disconnectCreator(page, "Maya Public");
});
