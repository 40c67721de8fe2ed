// The SMTP part of the JS surface (README.md here): account validation and default ports,
// the message composer, and SendJob — Test SMTP Connection and sending, driven like a
// RetrievalJob. Every function catches everything and answers with an object.
#pragma once

#include <emscripten/val.h>

#include "bindings/effect_interop.h"
#include "jobs/send_job.h"

namespace junction::bindings {

using send_job_binding = job_binding<jobs::send_job>;

// 25 / 587 / 465 for "none" / "starttls" / "ssl"; 0 for anything else.
int default_smtp_port(const emscripten::val& encryption);
// {ok, errors, account: normalised JSON text or ""}
emscripten::val validate_smtp_account(const emscripten::val& text);
// {ok, error, message: Uint8Array, message_id, recipients, needs_smtputf8, eight_bit}
emscripten::val compose_message(const emscripten::val& input_text,
                                const emscripten::val& attachments);
// {ok, errors, job: SendJob|null}
emscripten::val create_send_job(const emscripten::val& account_text,
                                const emscripten::val& messages, const emscripten::val& check_only);
// {ok, failure, message, server_greeting, messages: [{accepted, code, enhanced_code, text,
// recipients: [{address, accepted, code, enhanced_code, text}]}]}
emscripten::val send_summary(const send_job_binding& self);

}  // namespace junction::bindings
