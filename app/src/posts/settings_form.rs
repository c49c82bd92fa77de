//! The post's caption and TikTok settings (audience, interactions, disclosure, AI label) as form fields, shared by the composer and the edit form.

use crate::{
    posts::photo_rules::PHOTO_DESCRIPTION_LIMIT,
    posts::rules::{
        CAPTION_LIMIT, ComposerChoices, ONLY_ME, Violation, branded_content_blocked, caption_length, content_label,
        only_me_blocked,
    },
    tiktok::types::{CreatorInfo, privacy_label},
};
use leptos::prelude::*;

/// The fields, bound to `choices`. Audience and interactions come from `creator` (greyed out
/// until TikTok answered, and where the creator turned them off); `violations` are the rules the
/// choices break, each shown under its field. Drafts (`drafting`) carry only the caption: the
/// creator sets the rest in the TikTok app.
#[component]
pub fn PostSettings(
    choices: RwSignal<ComposerChoices>,
    #[prop(into)] creator: Signal<Option<CreatorInfo>>,
    #[prop(into)] violations: Signal<Vec<Violation>>,
    #[prop(into)] drafting: Signal<bool>,
    /// A photo post: the caption is its description (4000 units), and there are no duets or
    /// stitches to allow.
    #[prop(optional, into)]
    photos: Signal<bool>,
) -> impl IntoView {
    let limit = move || if photos.get() { PHOTO_DESCRIPTION_LIMIT } else { CAPTION_LIMIT };
    let field_problem = move |field: &'static str| {
        move || violations.get().into_iter().find(|v| v.field == field).map(|v| v.message)
    };
    let creator_info = move || creator.get();
    let disabled_by_creator = move |pick: fn(&CreatorInfo) -> bool| creator_info().map(|info| pick(&info)).unwrap_or(true);
    view! {
        <div class="field">
            <label for="composer-caption">{move || if photos.get() { "Description" } else { "Caption" }}</label>
            <textarea id="composer-caption" rows="4"
                prop:value=move || choices.with(|c| c.caption.clone())
                on:input=move |ev| choices.update(|c| c.caption = event_target_value(&ev))></textarea>
            <p class="hint" class:over=move || choices.with(|c| caption_length(&c.caption) > limit())>
                {move || format!("{} / {} · #hashtags and @mentions are kept as you write them", choices.with(|c| caption_length(&c.caption)), limit())}
            </p>
            <p class="field-error">{field_problem("caption")}</p>
        </div>

        <Show when=move || !drafting.get()>
            <div class="field">
                <label for="composer-privacy">"Who can see this post"</label>
                <select id="composer-privacy"
                    prop:value=move || choices.with(|c| c.privacy_level.clone().unwrap_or_default())
                    on:change=move |ev| choices.update(|c| c.privacy_level = Some(event_target_value(&ev)).filter(|v| !v.is_empty()))>
                    <option value="" selected=true disabled=true>"Choose who can see this post"</option>
                    {move || creator_info().map(|info| info.privacy_level_options.into_iter().map(|level| {
                        let only_me = level == ONLY_ME;
                        view! {
                            <option value=level.clone()
                                disabled=move || only_me && choices.with(only_me_blocked)
                                title=move || (only_me && choices.with(only_me_blocked)).then_some("Branded content visibility cannot be set to private.")>
                                {privacy_label(&level).to_owned()}
                            </option>
                        }
                    }).collect_view())}
                </select>
                <p class="field-error">{field_problem("privacy_level")}</p>
            </div>

            <fieldset class="toggles">
                <legend>"Let viewers"</legend>
                <Toggle label="Comment" id="composer-comment" disabled=Signal::derive(move || disabled_by_creator(|i| i.comment_disabled))
                    checked=Signal::derive(move || choices.with(|c| c.allow_comment)) set=move |on| choices.update(|c| c.allow_comment = on)/>
                <Show when=move || !photos.get()>
                <Toggle label="Duet" id="composer-duet" disabled=Signal::derive(move || disabled_by_creator(|i| i.duet_disabled))
                    checked=Signal::derive(move || choices.with(|c| c.allow_duet)) set=move |on| choices.update(|c| c.allow_duet = on)/>
                <Toggle label="Stitch" id="composer-stitch" disabled=Signal::derive(move || disabled_by_creator(|i| i.stitch_disabled))
                    checked=Signal::derive(move || choices.with(|c| c.allow_stitch)) set=move |on| choices.update(|c| c.allow_stitch = on)/>
                </Show>
                <p class="hint">"Greyed out where the creator turned it off in TikTok."</p>
            </fieldset>

            <fieldset class="toggles">
                <legend>"Disclosure"</legend>
                <Toggle label="This video promotes a brand, product or service" id="composer-commercial" disabled=Signal::derive(|| false)
                    checked=Signal::derive(move || choices.with(|c| c.commercial)) set=move |on| choices.update(|c| c.commercial = on)/>
                <Show when=move || choices.with(|c| c.commercial)>
                    <div class="nested">
                        <Toggle label="Your brand" id="composer-your-brand" disabled=Signal::derive(|| false)
                            checked=Signal::derive(move || choices.with(|c| c.your_brand)) set=move |on| choices.update(|c| c.your_brand = on)/>
                        <p class="hint">"You are promoting yourself or your own business."</p>
                        <Toggle label="Branded content" id="composer-branded" disabled=Signal::derive(move || choices.with(branded_content_blocked))
                            checked=Signal::derive(move || choices.with(|c| c.branded_content)) set=move |on| choices.update(|c| c.branded_content = on)/>
                        <p class="hint">{move || if choices.with(branded_content_blocked) {
                            "Branded content visibility cannot be set to private."
                        } else {
                            "You are promoting another brand or a third party."
                        }}</p>
                        <p class="field-error">{field_problem("commercial")}</p>
                        <p class="field-error">{field_problem("branded_content")}</p>
                        {move || choices.with(content_label).map(|label| view! {
                            <p class="notice">{move || format!("Your {} will be labeled \u{201c}{label}\u{201d}.", if photos.get() { "photos" } else { "video" })}</p>
                        })}
                    </div>
                </Show>
                <Toggle label="AI-generated content" id="composer-aigc" disabled=Signal::derive(|| false)
                    checked=Signal::derive(move || choices.with(|c| c.is_aigc)) set=move |on| choices.update(|c| c.is_aigc = on)/>
            </fieldset>
        </Show>
    }
    // One erased type: the fields are deep, and the pages that hold them deeper still.
    .into_any()
}

/// A labelled switch; greyed out (and never on) while `disabled`.
#[component]
fn Toggle(
    label: &'static str,
    id: &'static str,
    #[prop(into)] disabled: Signal<bool>,
    #[prop(into)] checked: Signal<bool>,
    set: impl Fn(bool) + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <label class="toggle" class:greyed=move || disabled.get() for=id>
            <input type="checkbox" id=id
                disabled=move || disabled.get()
                prop:checked=move || checked.get() && !disabled.get()
                on:change=move |ev| set(event_target_checked(&ev))/>
            {label}
        </label>
    }
}
