//! The team page (members, roles, invites, teams) and the invite join page.

use crate::{
    approvals::api::{SetApprovalRequired, SetApprover},
    auth::types::SessionInfo,
    error::AppError,
    request_scope::page_resource,
    teams::{
        api::{
            AcceptInvite, ChangeMemberRole, CreateInvite, CreateTeam, EmailInvite, RemoveMember,
            RenameTeam, RevokeInvite, list_members, preview_invite, team_administration,
        },
        types::{MemberView, Role, TeamAdministration},
    },
    ui::{Field, FormError, action_error, field_error, format_utc, list_resource},
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_params_map};

/// `/team`
#[component]
pub fn TeamPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let manages = info.role.manages_members();
    let change_role = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let approver = ServerAction::<SetApprover>::new();
    let members = list_resource(
        move || vec![change_role.version().get(), remove.version().get(), approver.version().get()],
        list_members,
    );
    let member_error = Signal::derive(move || {
        change_role.value().get().and_then(Result::err)
            .or_else(|| remove.value().get().and_then(Result::err))
            .or_else(|| approver.value().get().and_then(Result::err))
    });
    let approval_setting = ServerAction::<SetApprovalRequired>::new();
    let me = info.user.id;
    let my_role = info.role;
    // Invites and storage in one load, for those who manage the team (nobody else may see them).
    let invite_actions = InviteActions::new();
    let administration = page_resource(
        move || (invite_actions.versions(), approval_setting.version().get()),
        move |_| async move { if manages { team_administration().await.map(Some) } else { Ok(None) } },
    );

    view! {
        <h1>"Team " <span class="team-name">{info.team.name.clone()}</span></h1>
        <p class="lede">"You are " <strong>{info.role.label()}</strong> " in this team."</p>

        <section class="card" aria-labelledby="members-title">
            <h2 id="members-title">"Members"</h2>
            <FormError error=member_error fields=&[]/>
            <Suspense fallback=|| view! { <p>"Loading members…"</p> }>
                {move || Suspend::new(async move {
                    match members.await {
                        Ok(list) => view! {
                            <table class="members">
                                <thead><tr><th>"Name"</th><th>"E-mail"</th><th>"Role"</th><th>"Approves posts"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|member| view! {
                                        <MemberRow member me my_role change_role remove approver/>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>

        <Show when=move || manages>
            <p><A href="/team/audit">"Audit log: who changed what, and when"</A></p>
            <ApprovalSettingCard administration setting=approval_setting/>
        </Show>
        <Show when=move || manages>
            <Invites actions=invite_actions administration/>
        </Show>
        <Show when=move || manages>
            <RenameTeamForm current=info.team.name.clone()/>
        </Show>
        <Show when=move || manages>
            <MediaUsageCard administration/>
        </Show>
        <NewTeamForm/>
    }
}

#[component]
fn MemberRow(
    member: MemberView,
    me: uuid::Uuid,
    my_role: Role,
    change_role: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
    approver: ServerAction<SetApprover>,
) -> impl IntoView {
    let is_me = member.user_id == me;
    // Admins and owners give or take the right; viewers never approve.
    let may_set_approver = my_role.manages_members() && member.role != Role::Viewer;
    let (member_id, can_approve) = (member.user_id, member.can_approve);
    let may_manage = !is_me && my_role.may_assign(member.role);
    let assignable: Vec<Role> = Role::ALL.into_iter().filter(|role| my_role.may_assign(*role)).collect();
    let user_id = member.user_id.to_string();
    view! {
        <tr data-member=member.email.clone()>
            <td>{member.display_name.clone()} {is_me.then(|| view! { <span class="tag">"you"</span> })}</td>
            <td>{member.email.clone()}</td>
            <td>
                {if may_manage {
                    let user_id = user_id.clone();
                    view! {
                        <ActionForm action=change_role attr:class="inline-form">
                            <input type="hidden" name="user_id" value=user_id/>
                            <label class="visually-hidden" for=format!("role-{}", member.user_id)>"Role"</label>
                            <select name="role" id=format!("role-{}", member.user_id)>
                                {assignable.iter().map(|role| view! {
                                    <option value=role.as_str() selected=*role == member.role>{role.label()}</option>
                                }).collect_view()}
                            </select>
                            <button type="submit">"Change role"</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! { <span class="role">{member.role.label()}</span> }.into_any()
                }}
            </td>
            <td class="approves">
                {if may_set_approver {
                    view! {
                        <label class="toggle">
                            <input type="checkbox" class="approver" prop:checked=can_approve
                                on:change=move |ev| { approver.dispatch(SetApprover { user_id: member_id, can_approve: event_target_checked(&ev) }); }/>
                            <span class="visually-hidden">"Approves posts"</span>
                        </label>
                    }.into_any()
                } else {
                    view! { <span>{if can_approve { "Yes" } else { "No" }}</span> }.into_any()
                }}
            </td>
            <td>
                {(may_manage || is_me).then(|| view! {
                    <ActionForm action=remove attr:class="inline-form">
                        <input type="hidden" name="user_id" value=user_id.clone()/>
                        <button type="submit" class="danger">{if is_me { "Leave team" } else { "Remove" }}</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

/// What changes the open invites; the team page reloads them when one completes.
#[derive(Clone, Copy)]
struct InviteActions {
    create: ServerAction<CreateInvite>,
    revoke: ServerAction<RevokeInvite>,
    emailed: ServerAction<EmailInvite>,
}

impl InviteActions {
    fn new() -> Self {
        Self { create: ServerAction::new(), revoke: ServerAction::new(), emailed: ServerAction::new() }
    }

    fn versions(&self) -> Vec<usize> {
        vec![self.create.version().get(), self.revoke.version().get(), self.emailed.version().get()]
    }
}

type Administration = Resource<Result<Option<TeamAdministration>, AppError>>;

#[component]
fn Invites(actions: InviteActions, administration: Administration) -> impl IntoView {
    let InviteActions { create, revoke, emailed } = actions;
    let emailed_error = action_error(emailed);
    let create_error = action_error(create);
    let created_link = move || {
        create.value().get().and_then(Result::ok).map(|created| {
            let origin = current_origin();
            format!("{origin}{}", created.path)
        })
    };
    view! {
        <section class="card" aria-labelledby="invites-title">
            <h2 id="invites-title">"Invite people"</h2>
            <p>"An invite link works once and expires after seven days."</p>
            <ActionForm action=create attr:class="inline-form">
                <label for="invite-role">"Role"</label>
                <InviteRoleSelect id="invite-role"/>
                <button type="submit" class="primary">"Create invite link"</button>
            </ActionForm>
            <FormError error=create_error fields=&[]/>
            {move || create_error.get().and_then(|e| e.field_message("role")).map(|m| view! { <p class="form-error">{m}</p> })}
            {move || created_link().map(|link| view! {
                <div class="invite-link" role="status">
                    <label for="invite-link">"Share this link (shown only now):"</label>
                    <input id="invite-link" readonly=true value=link/>
                </div>
            })}
            <h3>"Invite by e-mail"</h3>
            <p class="hint">"Cadence e-mails the link itself, where the server has an SMTP server set up."</p>
            <ActionForm action=emailed attr:class="inline-form">
                <label for="invite-email">"Address to invite"</label>
                <input type="email" name="email" id="invite-email" required=true autocomplete="off"/>
                <label for="invite-email-role">"Role for this invite"</label>
                <InviteRoleSelect id="invite-email-role"/>
                <button type="submit">"E-mail an invite"</button>
            </ActionForm>
            <FormError error=emailed_error fields=&["email", "role"]/>
            {move || emailed_error.get().and_then(|e| e.field_message("email").or_else(|| e.field_message("role"))).map(|m| view! { <p class="form-error">{m}</p> })}
            <Show when=move || matches!(emailed.value().get(), Some(Ok(_)))>
                <p class="success" role="status">"Invite e-mailed."</p>
            </Show>
            <h3>"Open invites"</h3>
            <Suspense fallback=|| view! { <p>"Loading invites…"</p> }>
                {move || Suspend::new(async move {
                    match administration.await.map(|admin| admin.map(|admin| admin.invites).unwrap_or_default()) {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No open invites."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="invites">
                                {list.into_iter().map(|invite| view! {
                                    <li>
                                        {invite.role.label()} " — by " {invite.created_by} ", expires " {format_utc(invite.expires_at)}
                                        <ActionForm action=revoke attr:class="inline-form">
                                            <input type="hidden" name="invite_id" value=invite.id.to_string()/>
                                            <button type="submit" class="danger">"Revoke"</button>
                                        </ActionForm>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The page's origin, for showing full invite links (empty during SSR).
fn current_origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        leptos::web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// The team's "posts need approval" switch (admins and owners).
#[component]
fn ApprovalSettingCard(administration: Administration, setting: ServerAction<SetApprovalRequired>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="approval-setting-title">
            <h2 id="approval-setting-title">"Approvals"</h2>
            <FormError error=action_error(setting) fields=&[]/>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match administration.await {
                        Ok(Some(TeamAdministration { approval_required, .. })) => view! {
                            <label class="toggle">
                                <input type="checkbox" id="approval-required" prop:checked=approval_required
                                    on:change=move |ev| { setting.dispatch(SetApprovalRequired { required: event_target_checked(&ev) }); }/>
                                "Posts need approval before they go out"
                            </label>
                            <p class="hint">"An approver approves each post exactly as it will reach TikTok; any later edit asks for approval again. A post still waiting at its time is held back until it is approved. Owners and admins approve; give editors the right in the members list."</p>
                        }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

/// What the team's scheduled videos take of its storage quota.
#[component]
fn MediaUsageCard(administration: Administration) -> impl IntoView {
    use crate::media::quota::human_size;
    view! {
        <section class="card" aria-labelledby="storage-title">
            <h2 id="storage-title">"Storage for scheduled videos"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match administration.await {
                        Ok(None) => ().into_any(),
                        Ok(Some(TeamAdministration { storage: usage, .. })) => view! {
                            <p>
                                {human_size(usage.used_bytes)} " of " {human_size(usage.quota_bytes)} " in use, "
                                {human_size(usage.quota_bytes.saturating_sub(usage.used_bytes))} " left. "
                                "Videos of published and cancelled posts are removed a day later."
                            </p>
                        }.into_any(),
                        Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn RenameTeamForm(current: String) -> impl IntoView {
    let rename = ServerAction::<RenameTeam>::new();
    let error = action_error(rename);
    view! {
        <section class="card" aria-labelledby="rename-title">
            <h2 id="rename-title">"Team name"</h2>
            <ActionForm action=rename attr:class="form">
                <Field label="Name" name="name" value=current error=field_error(error, "name")/>
                <FormError error fields=&["name"]/>
                <Show when=move || matches!(rename.value().get(), Some(Ok(())))>
                    <p class="success" role="status">"Renamed. Reload to see it everywhere."</p>
                </Show>
                <button type="submit">"Rename team"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn NewTeamForm() -> impl IntoView {
    let create = ServerAction::<CreateTeam>::new();
    let error = action_error(create);
    view! {
        <section class="card" aria-labelledby="new-team-title">
            <h2 id="new-team-title">"Start another team"</h2>
            <p>"You will be its owner and can switch between your teams at the top of the page."</p>
            <ActionForm action=create attr:class="form">
                <Field label="Team name" name="name" error=field_error(error, "name")/>
                <FormError error fields=&["name"]/>
                <button type="submit">"Create team"</button>
            </ActionForm>
        </section>
    }
}

/// `/invite/:token`: shows what the invite offers; joins (logged in) or leads to sign-up.
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let preview = page_resource(token, preview_invite);
    let session = page_resource(|| (), |_| crate::auth::api::get_session_info());
    let accept = ServerAction::<AcceptInvite>::new();
    let accept_error = action_error(accept);
    view! {
        <main class="auth-page">
            <section class="card auth-card" aria-labelledby="invite-title">
                <p class="brand">"Cadence"</p>
                <h1 id="invite-title">"Join a team"</h1>
                <Suspense fallback=|| view! { <p>"Checking the invite…"</p> }>
                    {move || Suspend::new(async move {
                        let preview = preview.await;
                        let session = session.await.ok().flatten();
                        match preview {
                            Ok(preview) => {
                                let offer = view! {
                                    <p class="lede">
                                        {preview.invited_by} " invites you to " <strong>{preview.team_name}</strong>
                                        " as " <strong>{preview.role.label()}</strong> "."
                                    </p>
                                };
                                let action = match session {
                                    Some(info) => view! {
                                        <p>"You are logged in as " {info.user.email} "."</p>
                                        <ActionForm action=accept attr:class="form">
                                            <input type="hidden" name="token" value=token()/>
                                            <FormError error=accept_error fields=&[]/>
                                            {move || accept_error.get().and_then(|e| e.field_message("invite")).map(|m| view! { <p class="form-error">{m}</p> })}
                                            <button type="submit" class="primary">"Join team"</button>
                                        </ActionForm>
                                    }.into_any(),
                                    None => view! {
                                        <p><A href=format!("/signup?invite={}", token()) attr:class="button primary">"Create an account to join"</A></p>
                                        <p class="switch-auth">"Already have an account? "
                                            <A href=format!("/login?next=/invite/{}", token())>"Log in first"</A></p>
                                    }.into_any(),
                                };
                                view! { {offer} {action} }.into_any()
                            }
                            Err(error) => view! { <p class="form-error" role="alert">{invite_error_text(&error)}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </main>
    }
}

fn invite_error_text(error: &AppError) -> String {
    error.field_message("invite").unwrap_or_else(|| error.to_string())
}

/// The roles an invite can give, editor first (what most invites are for).
#[component]
fn InviteRoleSelect(id: &'static str) -> impl IntoView {
    view! {
        <select name="role" id=id>
            <option value="editor" selected=true>"Editor"</option>
            <option value="viewer">"Viewer"</option>
            <option value="admin">"Admin"</option>
        </select>
    }
}
