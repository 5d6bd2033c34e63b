// dubanctl units contacts ...: the people reminded for a unit (list, add, hand over, end).
// Person names are personal data: they are printed on stdout because the user asked for them,
// but never written to stderr or anywhere else (error messages name contact ids only).
#include <iostream>
#include <memory>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "output.h"
#include "paging.h"
#include "units_parts.h"

namespace duban::cli {

namespace uv1 = ::duban::units::v1;

namespace {

uv1::ContactRole RoleFlag(const std::string& text) {
  std::string s = absl::AsciiStrToUpper(text);
  if (!absl::StartsWith(s, "CONTACT_ROLE_")) s = "CONTACT_ROLE_" + s;
  uv1::ContactRole role;
  if (!uv1::ContactRole_Parse(s, &role) || role == uv1::CONTACT_ROLE_UNSPECIFIED) {
    throw UsageError{"--role: unknown role '" + text + "' (liaison, deputy, head, supervisor)"};
  }
  return role;
}

std::string RoleShort(uv1::ContactRole role) {
  std::string name = uv1::ContactRole_Name(role);
  if (absl::StartsWith(name, "CONTACT_ROLE_")) name = name.substr(13);
  return absl::AsciiStrToLower(name);
}

google::protobuf::Timestamp TimeFlag(const std::string& text, const std::string& flag,
                                     const Context& ctx) {
  auto ts = ParseTime(text, ctx.options.time_zone);
  if (!ts.ok()) throw UsageError{flag + ": " + std::string(ts.status().message())};
  return *ts;
}

std::string Channels(const uv1::Contact& c) {
  std::string out;
  for (const auto& v : {c.email(), c.mobile(), c.webhook_url()}) {
    if (v.empty()) continue;
    if (!out.empty()) out += " ";
    out += v;
  }
  return out.empty() ? "-" : out;
}

void PrintContact(const Context& ctx, const uv1::Contact& c) {
  const std::string& tz = ctx.options.time_zone;
  std::cout << "id:        " << c.id() << "\n"
            << "unit:      " << c.unit_id() << "\n"
            << "name:      " << c.person_name() << "\n"
            << "role:      " << RoleShort(c.role()) << "\n"
            << "channels:  " << Channels(c) << "\n"
            << "locale:    " << (c.locale().empty() ? "zh-CN" : c.locale()) << "\n"
            << "valid:     " << FormatTime(c.valid_from(), tz) << " → "
            << (c.has_valid_to() ? FormatTime(c.valid_to(), tz) : "open-ended") << "\n";
}

struct ListOptions {
  std::string unit, role, at;
  bool history = false;
};

int ListContacts(Context& ctx, const ListOptions& o) {
  uv1::ListContactsRequest req;
  req.set_unit_id(o.unit);
  if (!o.role.empty()) req.set_role(RoleFlag(o.role));
  req.set_include_history(o.history);
  if (!o.at.empty()) *req.mutable_at() = TimeFlag(o.at, "--at", ctx);
  uv1::ListContactsResponse all;
  const grpc::Status s = FetchPages(
      req, 0,
      [&](const auto& r, auto& page) {
        return ctx.units().ListContacts(ctx.Call().get(), r, &page);
      },
      [](auto& page) { return page.mutable_contacts(); }, all);
  if (!s.ok()) return ctx.Fail("ListContacts", s);
  const auto& contacts = all.contacts();
  if (ctx.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : contacts) list.push_back(JsonOf(c));
    std::cout << nlohmann::json{{"contacts", list}}.dump() << "\n";
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  Table table({"ID", "ROLE", "NAME", "CHANNELS", "LOCALE", "FROM", "TO"});
  for (const auto& c : contacts) {
    table.AddRow({c.id(), RoleShort(c.role()), c.person_name(), Channels(c),
                  c.locale().empty() ? "zh-CN" : c.locale(), FormatTime(c.valid_from(), tz),
                  c.has_valid_to() ? FormatTime(c.valid_to(), tz) : "-"});
  }
  table.Print(64);
  std::cout << contacts.size() << " contact(s)\n";
  return kExitOk;
}

struct PersonOptions {
  std::string name, email, mobile, webhook_url, locale;
};

void AddPersonOptions(CLI::App* cmd, PersonOptions& p, bool name_required) {
  auto* name = cmd->add_option("--name", p.name, "Person name, e.g. 李伟");
  if (name_required) name->required();
  cmd->add_option("--email", p.email, "Email address");
  cmd->add_option("--mobile", p.mobile, "Mobile number, e.g. +8613800000000");
  cmd->add_option("--webhook-url", p.webhook_url, "Webhook URL (http or https)");
  cmd->add_option("--locale", p.locale, "Message language: zh-CN (default) or en")
      ->check(CLI::IsMember({"zh-CN", "en"}));
}

void FillPerson(const PersonOptions& p, uv1::Contact* c) {
  c->set_person_name(p.name);
  c->set_email(p.email);
  c->set_mobile(p.mobile);
  c->set_webhook_url(p.webhook_url);
  c->set_locale(p.locale);
}

struct AddOptions {
  std::string unit, role, id, from, to, request_id;
  PersonOptions person;
};

int AddContact(Context& ctx, const AddOptions& o) {
  const PersonOptions& p = o.person;
  if (p.email.empty() && p.mobile.empty() && p.webhook_url.empty()) {
    throw UsageError{"give at least one of --email, --mobile, --webhook-url"};
  }
  uv1::AddContactRequest req;
  uv1::Contact* c = req.mutable_contact();
  c->set_id(o.id);
  c->set_unit_id(o.unit);
  c->set_role(RoleFlag(o.role));
  FillPerson(p, c);
  if (!o.from.empty()) *c->mutable_valid_from() = TimeFlag(o.from, "--from", ctx);
  if (!o.to.empty()) *c->mutable_valid_to() = TimeFlag(o.to, "--to", ctx);
  req.set_request_id(o.request_id);
  uv1::Contact out;
  const grpc::Status s = ctx.units().AddContact(ctx.Call().get(), req, &out);
  if (!s.ok()) return ctx.Fail("AddContact", s);
  if (ctx.json()) {
    PrintJson(out);
  } else {
    std::cout << "added contact " << out.id() << " (" << RoleShort(out.role()) << " of "
              << out.unit_id() << ")\n";
  }
  return kExitOk;
}

struct HandOverOptions {
  std::string contact, at, id, request_id;
  PersonOptions person;
};

int HandOver(Context& ctx, const HandOverOptions& o) {
  uv1::HandOverContactRequest req;
  req.set_old_contact_id(o.contact);
  uv1::Contact* c = req.mutable_successor();
  c->set_id(o.id);
  FillPerson(o.person, c);
  // Without a new channel the successor keeps the predecessor's (a new person on the same
  // duty mailbox or group webhook is common); fetch them so the request is complete.
  if (o.person.email.empty() && o.person.mobile.empty() && o.person.webhook_url.empty()) {
    uv1::GetContactRequest get;
    get.set_id(o.contact);
    uv1::Contact old;
    const grpc::Status s = ctx.units().GetContact(ctx.Call().get(), get, &old);
    if (!s.ok()) return ctx.Fail("GetContact", s);
    c->set_email(old.email());
    c->set_mobile(old.mobile());
    c->set_webhook_url(old.webhook_url());
    if (o.person.locale.empty()) c->set_locale(old.locale());
  }
  if (!o.at.empty()) *req.mutable_effective_time() = TimeFlag(o.at, "--at", ctx);
  req.set_request_id(o.request_id);
  uv1::HandOverContactResponse resp;
  const grpc::Status s = ctx.units().HandOverContact(ctx.Call().get(), req, &resp);
  if (!s.ok()) return ctx.Fail("HandOverContact", s);
  if (ctx.json()) {
    PrintJson(resp);
    return kExitOk;
  }
  const std::string& tz = ctx.options.time_zone;
  std::cout << "handed over " << RoleShort(resp.ended().role()) << " of " << resp.ended().unit_id()
            << " at " << FormatTime(resp.successor().valid_from(), tz) << "\n"
            << "  ended:     " << resp.ended().id() << " " << resp.ended().person_name()
            << " (until " << FormatTime(resp.ended().valid_to(), tz) << ")\n"
            << "  successor: " << resp.successor().id() << " " << resp.successor().person_name()
            << " (" << Channels(resp.successor()) << ")\n";
  return kExitOk;
}

struct EndOptions {
  std::string contact, at;
};

int EndContact(Context& ctx, const EndOptions& o) {
  uv1::EndContactRequest req;
  req.set_id(o.contact);
  if (!o.at.empty()) *req.mutable_end_time() = TimeFlag(o.at, "--at", ctx);
  uv1::Contact out;
  const grpc::Status s = ctx.units().EndContact(ctx.Call().get(), req, &out);
  if (!s.ok()) return ctx.Fail("EndContact", s);
  if (ctx.json()) {
    PrintJson(out);
  } else {
    std::cout << "ended contact " << out.id() << " (" << RoleShort(out.role()) << " of "
              << out.unit_id() << ") at " << FormatTime(out.valid_to(), ctx.options.time_zone)
              << "\n";
  }
  return kExitOk;
}

int ShowContact(Context& ctx, const std::string& id) {
  uv1::GetContactRequest req;
  req.set_id(id);
  uv1::Contact out;
  const grpc::Status s = ctx.units().GetContact(ctx.Call().get(), req, &out);
  if (!s.ok()) return ctx.Fail("GetContact", s);
  if (ctx.json()) {
    PrintJson(out);
  } else {
    PrintContact(ctx, out);
  }
  return kExitOk;
}

}  // namespace

void AddContactsCommands(CLI::App& units, Context& ctx) {
  CLI::App* contacts = Group(units, "contacts", "The people reminded for a unit");
  const char* kRoles = "liaison (联络员), deputy, head (负责人) or supervisor (督导)";

  auto l = std::make_shared<ListOptions>();
  CLI::App* list = Leaf(*contacts, "list", "List a unit's contacts (in effect now by default)", ctx,
                        [&ctx, l] { return ListContacts(ctx, *l); });
  list->add_option("unit", l->unit, "Unit id")->required();
  list->add_option("--role", l->role, std::string("Only this role: ") + kRoles);
  list->add_flag("--history", l->history, "Include ended and future contacts");
  list->add_option("--at", l->at, "In effect at this time instead of now");

  auto show = std::make_shared<std::string>();
  Leaf(*contacts, "show", "Show one contact", ctx, [&ctx, show] { return ShowContact(ctx, *show); })
      ->add_option("contact", *show, "Contact id")
      ->required();

  auto a = std::make_shared<AddOptions>();
  CLI::App* add = Leaf(*contacts, "add", "Add a contact to a unit", ctx,
                       [&ctx, a] { return AddContact(ctx, *a); });
  add->add_option("unit", a->unit, "Unit id")->required();
  add->add_option("--role", a->role, kRoles)->required();
  AddPersonOptions(add, a->person, true);
  add->add_option("--from", a->from, "Takes effect at (default now)");
  add->add_option("--to", a->to, "Ends at (default open-ended)");
  add->add_option("--id", a->id, "Contact id (default generated)");
  add->add_option("--request-id", a->request_id, "Idempotency key for retries");
  add->footer("At least one of --email, --mobile and --webhook-url is required.");

  auto h = std::make_shared<HandOverOptions>();
  CLI::App* handover = Leaf(*contacts, "handover",
                            "Replace a contact by a successor (same unit and role) in one step",
                            ctx, [&ctx, h] { return HandOver(ctx, *h); });
  handover->add_option("contact", h->contact, "Id of the contact being replaced")->required();
  AddPersonOptions(handover, h->person, true);
  handover->add_option("--at", h->at, "Effective time (default now)");
  handover->add_option("--id", h->id, "Successor's contact id (default generated)");
  handover->add_option("--request-id", h->request_id, "Idempotency key for retries");
  handover->footer(
      "Without --email/--mobile/--webhook-url the successor keeps the old contact's "
      "channels.");

  auto e = std::make_shared<EndOptions>();
  CLI::App* end = Leaf(*contacts, "end", "End a contact's validity (kept as history)", ctx,
                       [&ctx, e] { return EndContact(ctx, *e); });
  end->add_option("contact", e->contact, "Contact id")->required();
  end->add_option("--at", e->at, "End time (default now)");
}

}  // namespace duban::cli
