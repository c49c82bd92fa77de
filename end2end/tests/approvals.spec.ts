import { expect, test } from "@playwright/test";
import { disconnectCreator, hydrated, schedule, teamNeedingApproval, wallClock } from "./helpers";

test("an editor's post waits for the approver, who asks for changes and then approves the edited post, and the owner reads who did what", async ({ browser }) => {
  test.setTimeout(150_000);
  // The owner switches approvals on and invites an editor.
  const { owner, editor } = await teamNeedingApproval(browser, ["Maya Public"]);

  // The editor schedules: the post waits for an approver, and the editor cannot approve it.
  const when = new Date(Date.now() + 2 * 24 * 3600 * 1000);
  when.setHours(11, 0, 0, 0);
  const id = await schedule(editor, wallClock(when), "Big launch");
  const editorCard = editor.locator("section.approval");
  await expect(editorCard.locator(".approval-state")).toHaveText("Waiting for approval");
  await expect(editorCard.getByRole("button", { name: "Approve" })).toHaveCount(0);

  // The approver finds it in the list and sends it back with a comment.
  await owner.goto("/posts");
  await expect(owner.locator(`tr[data-post="${id}"] .approval-pending`)).toHaveText("Waiting for approval");
  await owner.goto(`/posts/${id}`);
  await hydrated(owner);
  const ownerCard = owner.locator("section.approval");
  await ownerCard.getByRole("button", { name: "Request changes" }).click();
  await expect(ownerCard.locator(".field-error")).toContainText("Say what should change.");
  await ownerCard.getByLabel("What should change").fill("Add the launch hashtag, please.");
  await ownerCard.getByRole("button", { name: "Request changes" }).click();
  await expect(ownerCard.locator(".approval-state")).toHaveText("Changes requested");
  await expect(owner.locator("section.comments .comment-body")).toHaveText("Add the launch hashtag, please.");

  // The editor sees why, edits the caption, and the post waits for approval again.
  await editor.reload();
  await hydrated(editor);
  await expect(editorCard.locator(".approval-state")).toHaveText("Changes requested");
  await expect(editor.locator("section.comments .comment-author")).toHaveText("Ada");
  await editor.locator("#post-edit").click();
  const form = editor.locator("form.edit-post");
  await expect(form.getByLabel("Who can see this post").locator("option", { hasText: "Friends" })).toHaveCount(1);
  await form.getByLabel("Caption").fill("Big launch #launch");
  await form.locator("#edit-save").click();
  await expect(form).toHaveCount(0);
  await expect(editorCard.locator(".approval-state")).toHaveText("Waiting for approval");

  // The approver approves what is there now.
  await owner.reload();
  await hydrated(owner);
  await expect(owner.locator(".facts")).toContainText("Big launch #launch");
  await ownerCard.getByRole("button", { name: "Approve" }).click();
  await expect(ownerCard.locator(".approval-state")).toHaveText("Approved");
  await expect(owner.locator(".timeline")).toContainText("Approved by Ada.");

  await editor.reload();
  await expect(editorCard.locator(".approval-state")).toHaveText("Approved");

  // Afterwards the owner sees who did what, filters it, and takes it away as CSV.
  await owner.getByRole("link", { name: "Team" }).click();
  await owner.getByRole("link", { name: "Audit log: who changed what, and when" }).click();
  await hydrated(owner);
  const log = owner.locator("table.audit");
  await expect(log.locator('tr[data-action="post.scheduled"] .actor')).toHaveText("Eli");
  await expect(log.locator('tr[data-action="post.changes_requested"] .summary')).toHaveText("Asked for changes: Add the launch hashtag, please.");
  await expect(log.locator('tr[data-action="post.edited"] .actor')).toHaveText("Eli");
  await expect(log.locator('tr[data-action="post.approved"] .summary')).toHaveText("Approved by Ada.");
  await owner.getByLabel("About").selectOption({ label: "Team settings" });
  await owner.getByRole("button", { name: "Show" }).click();
  await expect(log.locator("tbody tr")).toHaveCount(1);
  await expect(log.locator(".summary")).toHaveText("Turned on: posts need approval before they go out.");
  await owner.getByRole("button", { name: "Prepare CSV" }).click();
  await expect(owner.getByRole("link", { name: "Download audit-log.csv" })).toHaveAttribute("href", /^data:text\/csv/);
  await disconnectCreator(owner, "Maya Public");
});
