//! `/analytics` (the team) and `/analytics/:account` (one account): charts drawn as SVG on the
//! server with a table of the same numbers behind each, CSV downloads, the best-times heatmap;
//! plus a published post's own curve and the composer's suggested slots.

use crate::{
    analytics::{
        api::{RefreshAnalytics, load_account_analytics, load_post_analytics, load_team_analytics, suggest_slots},
        charts,
        csv,
        types::{AccountAnalytics, CollectionState, Point, RANGES, TeamAnalytics, VideoRow},
    },
    auth::types::SessionInfo,
    error::AppError,
    request_scope::page_resource,
    teams::types::Role,
    ui::FormError,
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::{use_params_map, use_query_map}};
use uuid::Uuid;

/// "30 days", "1 year".
fn range_name(days: i64) -> String {
    if days == 365 { "1 year".into() } else { format!("{days} days") }
}

/// Links to the ranges, the current one marked.
#[component]
fn RangePicker(base: String, days: i64) -> AnyView {
    view! {
        <nav class="range-picker" aria-label="Range">
            {RANGES.iter().map(|range| {
                let current = (*range == days).then_some("page");
                view! { <a href=format!("{base}?days={range}") aria-current=current>{range_name(*range)}</a> }
            }).collect_view()}
        </nav>
    }
    .into_any()
}

/// An SVG chart with its numbers in a table behind it.
#[component]
fn ChartWithTable(svg: String, caption: String, points: Vec<Point>, value_name: &'static str) -> AnyView {
    view! {
        <figure class="chart-figure">
            <div class="chart-svg" inner_html=svg></div>
            <details>
                <summary>"Show the numbers"</summary>
                <table class="chart-table">
                    <caption>{caption}</caption>
                    <thead><tr><th scope="col">"Time"</th><th scope="col">{value_name}</th></tr></thead>
                    <tbody>
                        {points.into_iter().map(|p| view! { <tr><td>{p.label}</td><td>{p.value}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
    .into_any()
}

/// Where the account's figures come from, and what is missing.
fn collection_note(state: &CollectionState) -> AnyView {
    let note = if !state.videos_allowed {
        Some("Cadence may not read this account's videos: connect it again with analytics permissions (video.list).".to_owned())
    } else if !state.stats_allowed {
        Some("The account did not allow follower counts (user.info.stats); views, likes, comments and shares still show.".to_owned())
    } else {
        None
    };
    view! {
        <p class="analytics-source">{match &state.collected_label {
            Some(at) => format!("Figures from TikTok, last read {at}."),
            None => "Cadence has not read this account's figures from TikTok yet; they are read every hour.".to_owned(),
        }}</p>
        {note.map(|note| view! { <p class="notice">{note}</p> })}
        {state.problem.clone().map(|problem| view! { <p class="form-error" role="status">{problem}</p> })}
    }
    .into_any()
}

fn engagement(row: &VideoRow) -> String {
    row.engagement_pct().map(|pct| format!("{pct}%")).unwrap_or_else(|| "–".into())
}

/// Videos with their counters; links to the Cadence post where there is one.
#[component]
fn VideoTable(videos: Vec<VideoRow>, caption: String, with_account: bool) -> AnyView {
    view! {
        <table class="video-table">
            <caption>{caption}</caption>
            <thead><tr>
                {with_account.then(|| view! { <th scope="col">"Account"</th> })}
                <th scope="col">"Video"</th><th scope="col">"Published"</th><th scope="col">"Views"</th>
                <th scope="col">"Likes"</th><th scope="col">"Comments"</th><th scope="col">"Shares"</th><th scope="col">"Engagement"</th>
            </tr></thead>
            <tbody>
                {videos.into_iter().map(|row| {
                    let rate = engagement(&row);
                    let title = if row.title.trim().is_empty() { format!("Video {}", row.video_id) } else { row.title.clone() };
                    let name = match row.post_id {
                        Some(post_id) => view! { <A href=format!("/posts/{post_id}")>{title}</A> }.into_any(),
                        None => view! { <span>{title} " " <small class="outside">"(posted outside Cadence)"</small></span> }.into_any(),
                    };
                    view! {
                        <tr class="video-row">
                            {with_account.then(|| view! { <td><A href=format!("/analytics/{}", row.account_id)>{row.account_name.clone()}</A></td> })}
                            <td>{name}</td><td>{row.published_label.clone()}</td><td class="views">{row.views}</td>
                            <td>{row.likes}</td><td>{row.comments}</td><td>{row.shares}</td><td>{rate}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn bars(videos: &[VideoRow]) -> Vec<(String, i64)> {
    videos
        .iter()
        .take(10)
        .map(|row| (if row.title.trim().is_empty() { row.video_id.clone() } else { row.title.clone() }, row.views))
        .collect()
}

/// `/analytics?days=…`
#[component]
pub fn TeamAnalyticsPage() -> impl IntoView {
    let query = use_query_map();
    let analytics = page_resource(
        move || query.read().get("days").and_then(|days| days.parse::<i64>().ok()),
        |days| load_team_analytics(days),
    );
    view! {
        <h1>"Analytics"</h1>
        <Transition fallback=|| view! { <p>"Loading analytics…"</p> }>
            {move || Suspend::new(async move {
                match analytics.await {
                    Ok(team) => view! { <TeamView team/> }.into_any(),
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TeamView(team: TeamAnalytics) -> AnyView {
    let days = team.range_days;
    let followers_svg = charts::line_chart("team-followers", "Followers across the team's accounts", &team.followers);
    let top_svg = charts::bar_chart("team-top", &format!("Most viewed videos, last {}", range_name(days)), &bars(&team.top));
    let links = (
        team_csv_link(&team, "followers", "Download followers (CSV)"),
        team_csv_link(&team, "top", "Download top posts (CSV)"),
    );
    view! {
        <RangePicker base="/analytics".into() days/>
        <p class="analytics-zone">"Times in " {team.time_zone.clone()} "."</p>
        {team.accounts.is_empty().then(|| view! { <p>"No TikTok accounts yet. Connect one on the " <A href="/accounts">"Accounts"</A> " page."</p> })}
        <section class="card">
            <h2>"Accounts"</h2>
            <table class="account-summary">
                <caption>{format!("Each account over the last {}", range_name(days))}</caption>
                <thead><tr><th scope="col">"Account"</th><th scope="col">"Followers"</th><th scope="col">"Change"</th>
                    <th scope="col">"Videos"</th><th scope="col">"Views"</th><th scope="col">"Engagement"</th><th scope="col">"Figures"</th></tr></thead>
                <tbody>
                    {team.accounts.into_iter().map(|account| {
                        let figures = if !account.collection.videos_allowed {
                            "Not allowed".to_owned()
                        } else {
                            account.collection.collected_label.clone().map_or("Not read yet".to_owned(), |at| format!("Read {at}"))
                        };
                        view! {
                            <tr>
                                <td><A href=format!("/analytics/{}?days={days}", account.account_id)>{account.display_name}</A></td>
                                <td>{account.followers.map_or("–".to_owned(), |n| n.to_string())}</td>
                                <td>{account.followers_change.map_or("–".to_owned(), |n| format!("{n:+}"))}</td>
                                <td>{account.videos_in_range}</td>
                                <td>{account.views_in_range}</td>
                                <td>{account.engagement_pct.map_or("–".to_owned(), |pct| format!("{pct}%"))}</td>
                                <td>{figures}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="card">
            <h2>"Followers"</h2>
            <ChartWithTable svg=followers_svg caption="Followers across the team's accounts".into() points=team.followers value_name="Followers"/>
            {links.0}
        </section>
        <section class="card">
            <h2>"Top posts"</h2>
            <div class="chart-svg" inner_html=top_svg></div>
            <VideoTable videos=team.top caption=format!("Videos published in the last {}, most viewed first", range_name(days)) with_account=true/>
            {links.1}
        </section>
    }
    .into_any()
}

/// `/analytics/:account?days=…`
#[component]
pub fn AccountAnalyticsPage() -> impl IntoView {
    let can_edit = expect_context::<SessionInfo>().role >= Role::Editor;
    let params = use_params_map();
    let query = use_query_map();
    let refresh = ServerAction::<RefreshAnalytics>::new();
    let analytics = page_resource(
        move || {
            let account = params.read().get("account").and_then(|id| id.parse::<Uuid>().ok());
            (account, query.read().get("days").and_then(|days| days.parse::<i64>().ok()), refresh.version().get())
        },
        |(account, days, _)| async move {
            match account {
                Some(account) => load_account_analytics(account, days).await,
                None => Err(AppError::NotFound("Account".into())),
            }
        },
    );
    view! {
        <FormError error=Signal::derive(move || refresh.value().get().and_then(Result::err)) fields=&[]/>
        <Show when=move || matches!(refresh.value().get(), Some(Ok(_)))>
            <p class="success" role="status">{move || refresh.value().get().and_then(Result::ok)}</p>
        </Show>
        <Transition fallback=|| view! { <p>"Loading analytics…"</p> }>
            {move || Suspend::new(async move {
                match analytics.await {
                    Ok(account) => view! { <AccountView account can_edit refresh/> }.into_any(),
                    Err(error) => view! { <h1>"Analytics"</h1><p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A download link to a CSV, named after what it holds.
fn download_link(csv: Result<String, String>, file_stem: &str, text: &'static str) -> AnyView {
    let href = csv.map(|csv| csv::data_url(&csv)).unwrap_or_default();
    let file = format!("{}.csv", file_stem.to_lowercase().replace(|c: char| !c.is_alphanumeric(), "-"));
    view! { <a class="csv-link" href=href download=file>{text}</a> }.into_any()
}

/// A download link to the CSV of one chart of an account's page.
fn csv_link(account: &AccountAnalytics, chart: &'static str, text: &'static str) -> AnyView {
    download_link(csv::csv(account, chart), &format!("{} {chart} {}d", account.display_name, account.range_days), text)
}

/// A download link to the CSV of one chart of the team's page.
fn team_csv_link(team: &TeamAnalytics, chart: &'static str, text: &'static str) -> AnyView {
    download_link(csv::team_csv(team, chart), &format!("team {chart} {}d", team.range_days), text)
}

#[component]
fn AccountView(account: AccountAnalytics, can_edit: bool, refresh: ServerAction<RefreshAnalytics>) -> AnyView {
    let account_id = account.account_id;
    let days = account.range_days;
    let base = format!("/analytics/{}", account.account_id);
    let followers_svg = charts::line_chart("followers", &format!("Followers of {}", account.display_name), &account.followers);
    let views_svg = charts::line_chart("views", &format!("Total views of {}'s videos", account.display_name), &account.views);
    let posts_svg = charts::bar_chart("posts", &format!("Views per post, last {}", range_name(days)), &bars(&account.videos));
    let heat_svg = charts::heatmap("best-times", "Best times to post", &account.heatmap);
    let links = (
        csv_link(&account, "followers", "Download followers (CSV)"),
        csv_link(&account, "views", "Download views (CSV)"),
        csv_link(&account, "videos", "Download posts (CSV)"),
    );
    view! {
        <h1>"Analytics: " {account.display_name.clone()}</h1>
        <p><A href=format!("/analytics?days={days}")>"All accounts"</A></p>
        <RangePicker base days/>
        <p class="analytics-zone">"Times in " {account.time_zone.clone()} "."</p>
        {collection_note(&account.collection)}
        {(can_edit && account.collection.videos_allowed).then(|| view! {
            <button type="button" class="refresh-figures" disabled=move || refresh.pending().get()
                on:click=move |_| { refresh.dispatch(RefreshAnalytics { account_id }); }>"Read figures now"</button>
        })}
        <section class="card">
            <h2>"Followers"</h2>
            <ChartWithTable svg=followers_svg caption=format!("Followers over the last {}", range_name(days)) points=account.followers value_name="Followers"/>
            {links.0}
        </section>
        <section class="card">
            <h2>"Views"</h2>
            <ChartWithTable svg=views_svg caption=format!("Total views over the last {}", range_name(days)) points=account.views value_name="Views"/>
            {links.1}
        </section>
        <section class="card">
            <h2>"Posts"</h2>
            <div class="chart-svg" inner_html=posts_svg></div>
            <VideoTable videos=account.videos caption=format!("Videos published in the last {}, most viewed first", range_name(days)) with_account=false/>
            {links.2}
        </section>
        <section class="card">
            <h2>"Best times to post"</h2>
            <p>"Average views in the first 48 hours by the hour a video went live, on your clock."</p>
            <div class="chart-svg heatmap" inner_html=heat_svg></div>
            {if account.suggestions.is_empty() {
                view! { <p>"Once the account has videos, Cadence suggests times here."</p> }.into_any()
            } else {
                view! {
                    <h3>"Next good times"</h3>
                    <ul class="slot-suggestions">
                        {account.suggestions.into_iter().map(|slot| view! {
                            <li>{slot.label} " (about " {slot.expected_views} " views)"</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}

/// A published post's views and likes since it went live, for the post's page.
#[component]
pub fn PostCurve(post_id: Uuid) -> AnyView {
    let analytics = page_resource(move || post_id, load_post_analytics);
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match analytics.await {
                    Ok(curve) => match curve.video {
                        Some(video) => {
                            let svg = charts::line_chart("post-views", "Views since the post went live", &curve.views);
                            let rate = engagement(&video);
                            view! {
                                <section class="card post-analytics">
                                    <h2>"How it is doing"</h2>
                                    <p class="post-figures">{video.views} " views · " {video.likes} " likes · " {video.comments}
                                        " comments · " {video.shares} " shares · engagement " {rate}</p>
                                    <ChartWithTable svg caption=format!("Views, times in {}", curve.time_zone) points=curve.views value_name="Views"/>
                                </section>
                            }.into_any()
                        }
                        None => view! {
                            <section class="card post-analytics"><h2>"How it is doing"</h2>
                                <p>"Figures appear once Cadence has read them from TikTok (every hour, for accounts that allow analytics)."</p>
                            </section>
                        }.into_any(),
                    },
                    Err(_) => ().into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// Under the composer's Schedule option: the account's next good times, each a button that
/// fills in the time.
#[component]
pub fn SuggestedSlots(account: Signal<Option<Uuid>>, pick: RwSignal<String>) -> AnyView {
    let slots = page_resource(move || account.get(), |account| async move {
        match account {
            Some(account) => suggest_slots(account).await,
            None => Ok(Vec::new()),
        }
    });
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let slots = slots.await.unwrap_or_default();
                (!slots.is_empty()).then(|| view! {
                    <div class="slot-suggestions" role="group" aria-label="Suggested times">
                        <span>"Good times for this account: "</span>
                        {slots.into_iter().map(|slot| {
                            let value = slot.wall_clock.clone();
                            view! {
                                <button type="button" class="slot" title=format!("About {} views in the first 48 hours", slot.expected_views)
                                    on:click=move |_| pick.set(value.clone())>{slot.label}</button>
                            }
                        }).collect_view()}
                    </div>
                })
            })}
        </Suspense>
    }
    .into_any()
}
