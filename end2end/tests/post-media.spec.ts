import { expect, test } from "@playwright/test";
import { disconnectCreator, hydrated, imageLoaded, recordedWebm, teamNeedingApproval, videoShowsAFrame, wallClock } from "./helpers";

// Leo and Sam: Maya's creator_info calls are counted per creator (20 a minute, TikTok's
// limit), and the other journeys spend most of hers.
test("an editor's draft, shown by the frame the browser drew, is submitted, moved to another account with a new video, and approved", async ({ browser }) => {
  test.setTimeout(180_000);
  const { owner, editor } = await teamNeedingApproval(browser, ["Leo Private", "Short Clips Sam"]);

  // A video the browser can play: the composer shows it as TikTok would and keeps its frame.
  await editor.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "New post" }).click();
  await hydrated(editor);
  await editor.locator("#composer-video").setInputFiles({ name: "tour.webm", mimeType: "video/webm", buffer: await recordedWebm(editor, "#d03060") });
  await editor.getByLabel("Caption").fill("Studio tour");
  await videoShowsAFrame(editor, ".preview .phone-video");
  await editor.locator("#composer-draft").click();
  await expect(editor).toHaveURL(/\/drafts\/[0-9a-f-]{36}$/);
  await hydrated(editor);
  await videoShowsAFrame(editor, ".draft .phone-video");

  await editor.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Drafts" }).click();
  await expect(editor.locator("table.drafts tbody tr")).toHaveCount(1);
  await imageLoaded(editor, "table.drafts tbody tr img.thumb");

  // Finished and submitted: in a team that needs approval, it waits for an approver.
  await editor.locator("table.drafts").getByRole("link", { name: "Studio tour" }).click();
  await hydrated(editor);
  await editor.getByLabel("TikTok account").selectOption({ label: "Leo Private" });
  await editor.getByLabel("Who can see this post").selectOption({ label: "Followers" });
  const when = new Date(Date.now() + 3 * 24 * 3600 * 1000);
  when.setHours(15, 0, 0, 0);
  await editor.getByLabel("When (your time)").fill(wallClock(when));
  await editor.locator("#draft-schedule").click();
  await expect(editor).toHaveURL(/\/posts\/[0-9a-f-]{36}$/);
  const id = editor.url().split("/posts/")[1];
  await hydrated(editor);
  await expect(editor.locator("section.approval .approval-state")).toHaveText("Waiting for approval");
  // The post page plays the stored video, through the members-only address.
  await expect(editor.locator(".post-preview .phone-video")).toHaveAttribute("src", new RegExp(`^/posts/${id}/video`));
  await videoShowsAFrame(editor, ".post-preview .phone-video");

  // The editor moves it to Sam and gives it a new video, without cancelling anything.
  await editor.locator("#post-edit").click();
  const form = editor.locator("form.edit-post");
  await form.locator("#replace-video").setInputFiles({ name: "tour-2.webm", mimeType: "video/webm", buffer: await recordedWebm(editor, "#2050d0") });
  await videoShowsAFrame(editor, ".replace-video .phone-video");
  await form.locator("#replace-video-send").click();
  await expect(editor.locator(".timeline")).toContainText("Replaced the video");
  await form.locator("#edit-account").selectOption({ label: "Short Clips Sam" });
  await form.getByLabel("Who can see this post").selectOption({ label: "Everyone" });
  await form.locator("#edit-save").click();
  await expect(form).toHaveCount(0);
  await expect(editor.getByRole("heading", { level: 1 })).toHaveText("Post to Short Clips Sam");
  await expect(editor.locator(".timeline")).toContainText("Edited: account, who can see it.");
  await expect(editor.locator("section.approval .approval-state")).toHaveText("Waiting for approval");

  // The approver sees it with its new frame in the list and the calendar, and approves it.
  await owner.goto("/posts");
  await hydrated(owner);
  await imageLoaded(owner, `tr[data-post="${id}"] img.thumb`);
  const day = `${when.getFullYear()}-${String(when.getMonth() + 1).padStart(2, "0")}-${String(when.getDate()).padStart(2, "0")}`;
  await owner.goto(`/calendar?span=week&date=${day}`);
  await imageLoaded(owner, `a.entry[href="/posts/${id}"] img.entry-thumb`);
  await owner.locator(`a.entry[href="/posts/${id}"]`).click();
  await hydrated(owner);
  await expect(owner.locator(".post-preview .phone-caption")).toHaveText("Studio tour");
  await owner.locator("section.approval").getByRole("button", { name: "Approve" }).click();
  await expect(owner.locator("section.approval .approval-state")).toHaveText("Approved");
  await disconnectCreator(owner, "Leo Private");
  await disconnectCreator(owner, "Short Clips Sam");
});
