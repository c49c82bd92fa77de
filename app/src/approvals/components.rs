//! The approval card on a post's page: where the post stands, and for approvers the buttons to approve it or ask for changes.

use crate::{
    approvals::{
        api::{ApprovePost, RequestChanges},
        types::{Approval, ApprovalPanel},
    },
    ui::FormError,
};
use leptos::prelude::*;
use uuid::Uuid;

/// Shown for scheduled posts of teams that need approval (or posts that went through it).
#[component]
pub fn ApprovalCard(
    post_id: Uuid,
    approval: Approval,
    panel: ApprovalPanel,
    approve: ServerAction<ApprovePost>,
    ask: ServerAction<RequestChanges>,
    /// The approver's note, kept by the page across reloads.
    comment: RwSignal<String>,
) -> impl IntoView {
    // Emptied once the server took the request.
    Effect::new(move |_| {
        if let Some(Ok(())) = ask.value().get() {
            comment.set(String::new());
        }
    });
    let note = match approval {
        Approval::Pending if panel.required => "It goes out only once an approver approves it, exactly as it is now; an edit asks for approval again.",
        Approval::ChangesRequested => "An approver asked for changes: see the comments, edit the post, and it waits for approval again.",
        Approval::Approved => "Approved as it is now. Any edit asks for approval again.",
        _ => "",
    };
    let fingerprint = panel.fingerprint.clone();
    let error = Signal::derive(move || approve.value().get().and_then(Result::err).or_else(|| ask.value().get().and_then(Result::err)));
    view! {
        <section class="card approval" aria-labelledby="approval-title">
            <h2 id="approval-title">"Approval"</h2>
            <p class=format!("approval-state approval-{}", approval.as_str())><strong>{approval.label()}</strong></p>
            {(!note.is_empty()).then(|| view! { <p class="hint">{note}</p> })}
            {(panel.may_approve && approval != Approval::Approved).then(|| view! {
                <div class="actions">
                    <button type="button" class="primary" id="approve-post" disabled=move || approve.pending().get()
                        on:click=move |_| { approve.dispatch(ApprovePost { post_id, fingerprint: fingerprint.clone() }); }>"Approve"</button>
                </div>
                <div class="field">
                    <label for="changes-comment">"What should change"</label>
                    <textarea id="changes-comment" rows="2" prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                    <p class="field-error">{move || ask.value().get().and_then(Result::err).and_then(|e| e.field_message("comment"))}</p>
                </div>
                <button type="button" id="request-changes" disabled=move || ask.pending().get()
                    on:click=move |_| { ask.dispatch(RequestChanges { post_id, comment: comment.get_untracked() }); }>"Request changes"</button>
            })}
            <FormError error fields=&["comment"]/>
        </section>
    }
    .into_any()
}
