import { expect, test } from "@playwright/test";
import { connectCreator, disconnectCreator, hydrated, ownerRequiringApproval, schedule, wallClock } from "./helpers";

test("a client without an account opens a preview link, asks for changes, then approves, and the team sees it", async ({ browser }) => {
  test.setTimeout(150_000);
  const owner = await ownerRequiringApproval(browser);
  await connectCreator(owner, "Maya Public");
  const when = new Date(Date.now() + 2 * 24 * 3600 * 1000);
  when.setHours(11, 0, 0, 0);
  const id = await schedule(owner, wallClock(when), "Winter collection, first look");

  // The approver makes a link for the client on the post's page.
  const share = owner.locator("section.share");
  await share.getByRole("button", { name: "Share with a client…" }).click();
  await share.getByRole("button", { name: "Make link" }).click();
  await expect(share.locator(".field-error")).toContainText("Name the link");
  await share.getByLabel("Who it is for").fill("Acme marketing");
  await share.getByRole("button", { name: "Make link" }).click();
  const address = await share.locator(".share-address").inputValue();
  expect(address).toMatch(/^https?:\/\/[^/]+\/preview\/[A-Za-z0-9_-]{43}$/);
  await expect(share.locator(".share-link.live")).toContainText("Acme marketing");

  // The client, in a browser that never logged in, sees the post as TikTok would show it.
  const client = await (await browser.newContext()).newPage();
  await client.goto(address);
  await hydrated(client);
  await expect(client.getByRole("heading", { level: 1 })).toHaveText("Acme marketing");
  const post = client.locator(`article.preview-post[data-post="${id}"]`);
  await expect(post.locator(".phone-caption")).toHaveText("Winter collection, first look");
  await expect(post.locator(".phone-account")).toHaveText("@Maya Public");
  const src = await post.locator("video.phone-video").getAttribute("src");
  const part = await client.request.get(src!, { headers: { Range: "bytes=0-15" } });
  expect(part.status()).toBe(206);
  expect((await part.body()).length).toBe(16);
  await expect(client.locator("nav")).toHaveCount(0);

  // Asking for changes needs a name and a comment.
  await expect(post.getByRole("button", { name: "Ask for changes" })).toBeDisabled();
  await client.getByLabel("Your name").fill("Clara");
  await post.getByRole("button", { name: "Ask for changes" }).click();
  await expect(client.locator(".form-error")).toContainText("Say what should change.");
  await post.getByLabel("Comment").fill("Please show the scarf first.");
  await post.getByRole("button", { name: "Ask for changes" }).click();
  await expect(post.locator(".approval-state")).toHaveText("Changes requested");
  await expect(post.locator(".comment")).toContainText("Please show the scarf first.");
  await post.getByRole("button", { name: "Approve" }).click();
  await expect(post.locator(".approval-state")).toHaveText("Approved");

  // The team reads it in the post's thread and timeline.
  await owner.reload();
  await hydrated(owner);
  await expect(owner.locator("section.approval .approval-state")).toHaveText("Approved");
  await expect(owner.locator("section.comments .comment-author")).toHaveText("Clara (client)");
  await expect(owner.locator(".timeline")).toContainText('Approved by Clara (client), through the client link "Acme marketing".');

  // Revoked, the link opens nothing any more.
  await owner.locator("section.share").getByRole("button", { name: "Share with a client…" }).click();
  await owner.locator(".share-revoke").click();
  await expect(owner.locator(".share-link")).toContainText("revoked");
  await client.reload();
  await expect(client.getByRole("heading", { name: "This preview does not open" })).toBeVisible();
  await expect(client.locator(".form-error")).toContainText("withdrawn");
  await disconnectCreator(owner, "Maya Public");
});
