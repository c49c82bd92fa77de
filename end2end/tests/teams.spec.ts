import { Browser, expect, Page, test } from "@playwright/test";
import { hydrated, signUp, uniqueEmail } from "./helpers";

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

/** Creates an invite on the team page and returns the link shown. */
async function createInvite(page: Page, role: "Editor" | "Viewer" | "Admin"): Promise<string> {
  await page.getByRole("link", { name: "Team" }).click();
  await hydrated(page);
  await page.getByLabel("Role", { exact: true }).selectOption({ label: role });
  await page.getByRole("button", { name: "Create invite link" }).click();
  const link = page.locator("#invite-link");
  await expect(link).toHaveValue(/\/invite\//);
  return link.inputValue();
}

test("an owner invites a second person who joins with the chosen role", async ({ browser }) => {
  const owner = await newPage(browser);
  await signUp(owner, "Olga", uniqueEmail("olga"));
  const link = await createInvite(owner, "Editor");

  const guest = await newPage(browser);
  await guest.goto(link);
  await expect(guest.getByText("Olga invites you to")).toBeVisible();
  await expect(guest.locator(".lede")).toContainText("Olga's team");
  await guest.getByRole("link", { name: "Create an account to join" }).click();
  await signUp(guest, "Gus", uniqueEmail("gus"), await guest.url().replace(/^https?:\/\/[^/]+/, ""));
  await expect(guest.locator(".lede")).toContainText("Olga's team");
  await expect(guest.locator("strong.role")).toHaveText("Editor");

  await owner.reload();
  await expect(owner.locator("tr[data-member]")).toHaveCount(2);
  await expect(owner.locator("#invite-link")).toHaveCount(0);
  await expect(owner.getByText("No open invites.")).toBeVisible();

  // The link was single-use.
  const latecomer = await newPage(browser);
  await latecomer.goto(link);
  await expect(latecomer.getByRole("alert")).toContainText("not valid any more");
});

test("a viewer sees the team but none of the controls that change it", async ({ browser }) => {
  const owner = await newPage(browser);
  await signUp(owner, "Vera", uniqueEmail("vera"));
  const link = await createInvite(owner, "Viewer");

  const viewer = await newPage(browser);
  await viewer.goto(link);
  await viewer.getByRole("link", { name: "Create an account to join" }).click();
  await signUp(viewer, "Val", uniqueEmail("val"), await viewer.url().replace(/^https?:\/\/[^/]+/, ""));
  await expect(viewer.locator("strong.role")).toHaveText("Viewer");
  await expect(viewer.locator(".viewer-note")).toBeVisible();

  await viewer.getByRole("link", { name: "Team" }).click();
  await expect(viewer.locator("tr[data-member]")).toHaveCount(2);
  await expect(viewer.getByRole("button", { name: "Create invite link" })).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: "Change role" })).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: "Remove" })).toHaveCount(0);
  await expect(viewer.getByRole("button", { name: "Leave team" })).toHaveCount(1);

  // The server refuses too, whatever the page shows.
  const response = await viewer.request.post("/api/teams/invites/create", {
    form: { role: "viewer" },
    headers: { Origin: new URL(viewer.url()).origin },
  });
  expect(response.status()).toBe(403);
  expect(await response.json()).toEqual({ Forbidden: "This needs the admin role or higher; you are a viewer in this team." });
});

test("a second team cannot see the first team's members", async ({ browser }) => {
  const first = await newPage(browser);
  await signUp(first, "Fay", uniqueEmail("fay"));
  const second = await newPage(browser);
  await signUp(second, "Sam", uniqueEmail("sam"));

  await second.getByRole("link", { name: "Team" }).click();
  await expect(second.locator("tr[data-member]")).toHaveCount(1);
  await expect(second.locator("body")).not.toContainText("Fay");
  await expect(second.locator("#team-switch option")).toHaveText(["Sam's team"]);
});

test("an owner changes a member's role and the member sees it", async ({ browser }) => {
  const owner = await newPage(browser);
  await signUp(owner, "Rita", uniqueEmail("rita"));
  const link = await createInvite(owner, "Viewer");
  const member = await newPage(browser);
  await member.goto(link);
  await member.getByRole("link", { name: "Create an account to join" }).click();
  await signUp(member, "Max", uniqueEmail("max"), await member.url().replace(/^https?:\/\/[^/]+/, ""));

  await owner.reload();
  await hydrated(owner);
  const row = owner.locator("tr[data-member]").filter({ hasText: "Max" });
  await row.getByRole("combobox").selectOption({ label: "Admin" });
  // The select shows "admin" as soon as it is chosen; wait for the server's answer to the
  // change itself, or the member may reload before it is saved (seen on a busy machine).
  const saved = owner.waitForResponse((response) => response.url().endsWith("/teams/members/role") && response.ok());
  await row.getByRole("button", { name: "Change role" }).click();
  await saved;
  await expect(row.getByRole("combobox")).toHaveValue("admin");

  await member.reload();
  await expect(member.locator("strong.role")).toHaveText("Admin");
});
