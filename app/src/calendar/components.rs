//! `/calendar`: the team's posts by month or week on the member's wall clock. Scheduled posts
//! can be dragged to another day (keeping their time of day); filters by account and state.

use crate::{
    auth::types::SessionInfo,
    calendar::{
        api::{ReschedulePost, load_calendar},
        types::{CalendarDay, CalendarSpan, CalendarView},
    },
    posts::{components::PostFilters, types::PostState},
    request_scope::page_resource,
    teams::types::Role,
    ui::FormError,
};
use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::use_query_map,
};

/// `/calendar?span=month|week&date=YYYY-MM-DD&account=…&state=…`
#[component]
pub fn CalendarPage() -> impl IntoView {
    let info = expect_context::<SessionInfo>();
    let can_edit = info.role >= Role::Editor;
    let query = use_query_map();
    let reschedule = ServerAction::<ReschedulePost>::new();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let calendar = page_resource(
        move || (param("span"), param("date"), param("account"), param("state"), reschedule.version().get()),
        |(span, date, account, state, _)| {
            load_calendar(span.unwrap_or_else(|| "month".into()), date, account.and_then(|a| a.parse().ok()), state)
        },
    );
    let link = move |span: Option<&str>, date: Option<&str>| {
        let mut parts = vec![format!("span={}", span.map(str::to_owned).or_else(|| param("span")).unwrap_or_else(|| "month".into()))];
        if let Some(date) = date.map(str::to_owned).or_else(|| param("date")) {
            parts.push(format!("date={date}"));
        }
        for name in ["account", "state"] {
            if let Some(value) = param(name) {
                parts.push(format!("{name}={value}"));
            }
        }
        format!("/calendar?{}", parts.join("&"))
    };
    view! {
        <h1>"Calendar"</h1>
        <FormError error=Signal::derive(move || reschedule.value().get().and_then(Result::err)) fields=&[]/>
        <Show when=move || matches!(reschedule.value().get(), Some(Ok(_)))>
            <p class="success" role="status">{move || reschedule.value().get().and_then(Result::ok).map(|at| format!("Moved to {at}."))}</p>
        </Show>
        <PostFilters action="/calendar">
            <input type="hidden" name="span" value=move || param("span").unwrap_or_else(|| "month".into())/>
            <input type="hidden" name="date" value=move || param("date").unwrap_or_default()/>
        </PostFilters>
        <Transition fallback=|| view! { <p>"Loading the calendar…"</p> }>
            {move || Suspend::new(async move {
                match calendar.await {
                    Ok(view) => view! { <CalendarGrid view link=Callback::new(move |(span, date): (Option<String>, Option<String>)| link(span.as_deref(), date.as_deref())) can_edit reschedule/> }.into_any(),
                    Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CalendarGrid(
    view: CalendarView,
    link: Callback<(Option<String>, Option<String>), String>,
    can_edit: bool,
    reschedule: ServerAction<ReschedulePost>,
) -> impl IntoView {
    let other_span = match view.span {
        CalendarSpan::Month => CalendarSpan::Week,
        CalendarSpan::Week => CalendarSpan::Month,
    };
    let span = view.span.as_str().to_owned();
    let nav = |span: &str, date: &str| link.run((Some(span.to_owned()), Some(date.to_owned())));
    view! {
        <div class="calendar-head">
            <A href=nav(&span, &view.previous) attr:aria-label="Previous">"‹"</A>
            <h2 class="calendar-title">{view.title.clone()}</h2>
            <A href=nav(&span, &view.next) attr:aria-label="Next">"›"</A>
            <A href=nav(&span, &view.today)>"Today"</A>
            <A href=nav(other_span.as_str(), &view.today)>{match other_span { CalendarSpan::Week => "Week", CalendarSpan::Month => "Month" }}</A>
            <span class="hint">{format!("Times in {}", view.time_zone)}</span>
        </div>
        <table class=format!("calendar {}", view.span.as_str())>
            <thead><tr>{["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map(|d| view! { <th>{d}</th> }).collect_view()}</tr></thead>
            <tbody>
                {view.weeks.into_iter().map(|week| view! {
                    <tr>{week.into_iter().map(|day| {
                        let week_of_day = (day.more > 0).then(|| nav(CalendarSpan::Week.as_str(), &day.date));
                        view! { <DayCell day week_of_day can_edit reschedule/> }
                    }).collect_view()}</tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// One day; `week_of_day` links to the day's week when the cell leaves posts out.
#[component]
fn DayCell(day: CalendarDay, week_of_day: Option<String>, can_edit: bool, reschedule: ServerAction<ReschedulePost>) -> impl IntoView {
    let more = day.more;
    let date = day.date.clone();
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        if let Some(payload) = ev.data_transfer().and_then(|data| data.get_data("text/plain").ok())
            && let Some((post_id, time)) = payload.split_once('|')
            && let Ok(post_id) = post_id.parse()
        {
            reschedule.dispatch(ReschedulePost { post_id, when: format!("{date}T{time}") });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&date, reschedule);
    };
    view! {
        <td class="day" class:outside=!day.in_span class:today=day.is_today data-date=day.date.clone()
            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
            on:drop=on_drop>
            <span class="day-number">{day.day_of_month}</span>
            <span class="day-label">{day.label}</span>
            {day.warnings.into_iter().map(|w| view! { <p class="cap-warning">"⚠ " {w}</p> }).collect_view()}
            {day.entries.into_iter().map(|entry| {
                let draggable = can_edit && entry.state == PostState::Scheduled;
                let payload = format!("{}|{}", entry.post_id, entry.time);
                let title = format!("{} · {}", entry.state.label(), entry.caption);
                // A plain link: the router still takes its clicks, and a month holds hundreds of
                // them, each of which `<A>` would give a memo and a boxed view of its own.
                view! {
                    <a href=format!("/posts/{}", entry.post_id)
                        class=format!("entry state-{}", entry.state.as_str())
                        draggable=if draggable { "true" } else { "false" }
                        title=title
                        on:dragstart=move |ev: leptos::ev::DragEvent| {
                            #[cfg(feature = "hydrate")]
                            if let Some(data) = ev.data_transfer() {
                                let _ = data.set_data("text/plain", &payload);
                            }
                            #[cfg(not(feature = "hydrate"))]
                            let _ = (&ev, &payload);
                        }>
                        {entry.thumbnail_url.clone().map(|url| view! { <img class="entry-thumb" src=url alt="" loading="lazy" width="18" height="32"/> })}
                        <time>{entry.time.clone()}</time> " " {entry.account_name.clone()}
                        <span class="entry-caption">{entry.caption}</span>
                        <span class="entry-state">{entry.state.label()}</span>
                    </a>
                }
            }).collect_view()}
            {week_of_day.map(|href| view! {
                <a class="more-entries" href=href>{format!("+{more} more")}</a>
            })}
        </td>
    }
    // Erased: a cell's full type is deep enough to exceed the compiler's limit in hydration.
    .into_any()
}
