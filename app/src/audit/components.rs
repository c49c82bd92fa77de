//! `/team/audit`: the team's audit log for owners and admins, filtered by subject and member, paged, with a CSV of everything that matches.

use crate::{
    audit::{
        api::{AuditCsv, audit_log},
        types::Subject,
    },
    auth::types::SessionInfo,
    request_scope::page_resource,
    teams::api::list_members,
    ui::FormError,
};
use leptos::prelude::*;
use leptos_router::{
    components::{A, Form},
    hooks::use_query_map,
};

#[component]
pub fn AuditPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let log = page_resource(
        move || (param("subject"), param("actor"), param("before")),
        |(subject, actor, before)| audit_log(subject, actor.and_then(|a| a.parse().ok()), before.and_then(|b| b.parse().ok())),
    );
    let members = page_resource(|| (), |()| list_members());
    let export = ServerAction::<AuditCsv>::new();
    let link = move |before: Option<i64>| {
        let mut pairs: Vec<(&str, String)> = ["subject", "actor"].into_iter().filter_map(|name| Some((name, param(name)?))).collect();
        pairs.extend(before.map(|id| ("before", id.to_string())));
        format!("/team/audit?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
    };
    view! {
        <h1>"Audit log"</h1>
        <p class="lede">"Every change to posts, TikTok accounts, members, roles, invites and settings of "
            <strong>{info.team.name.clone()}</strong> ", with who made it and when."</p>
        <Form method="GET" action="/team/audit" attr:class="filters">
            <label for="audit-subject">"About"</label>
            <select id="audit-subject" name="subject">
                <option value="">"Everything"</option>
                {Subject::ALL.into_iter().map(|s| view! {
                    <option value=s.as_str() selected=move || param("subject").as_deref() == Some(s.as_str())>{s.label()}</option>
                }).collect_view()}
            </select>
            <label for="audit-actor">"By"</label>
            <select id="audit-actor" name="actor">
                <option value="">"Anyone"</option>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        members.await.unwrap_or_default().into_iter().map(|m| {
                            let id = m.user_id.to_string();
                            let chosen = param("actor").as_deref() == Some(id.as_str());
                            view! { <option value=id selected=chosen>{m.display_name}</option> }
                        }).collect_view()
                    })}
                </Suspense>
            </select>
            <button type="submit">"Show"</button>
        </Form>
        <p>
            <button type="button" id="audit-export" disabled=move || export.pending().get()
                on:click=move |_| { export.dispatch(AuditCsv { subject: param("subject"), actor: param("actor").and_then(|a| a.parse().ok()) }); }>
                "Prepare CSV"
            </button>
            {move || export.value().get().and_then(Result::ok).map(|csv| view! {
                " " <a class="csv-link" href=crate::analytics::csv::data_url(&csv) download="audit-log.csv">"Download audit-log.csv"</a>
            })}
        </p>
        <FormError error=Signal::derive(move || export.value().get().and_then(Result::err)) fields=&[]/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(page) if page.entries.is_empty() => view! { <section class="card"><p class="empty">"No changes match."</p></section> }.into_any(),
                    Ok(page) => view! {
                        <table class="audit">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Before"</th><th>"After"</th></tr></thead>
                            <tbody>
                                {page.entries.into_iter().map(|e| view! {
                                    <tr data-action=e.action.clone()>
                                        <td><time>{e.when_label}</time></td>
                                        <td class="actor">{e.actor}</td>
                                        <td class="summary">{e.summary}</td>
                                        <td><code>{e.before.unwrap_or_default()}</code></td>
                                        <td><code>{e.after.unwrap_or_default()}</code></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <nav class="pager" aria-label="More changes">
                            {param("before").map(|_| view! { <A href=link(None)>"Newest changes"</A> })}
                            {page.older.map(|id| view! { <A href=link(Some(id)) attr:rel="next">"Older changes"</A> })}
                        </nav>
                    }.into_any(),
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}
