// dubanctl policies ...: reminder policies (duban.reminders.v1 ReminderService). A policy is
// edited as a JSON file in the proto3 JSON mapping (the same shape `-o json` prints), because
// its nested rules (offsets, overdue repeats, escalation ladder, send window) do not fit flags.
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include <google/protobuf/util/json_util.h>
#include <CLI/CLI.hpp>

#include "cli_context.h"
#include "output.h"
#include "paging.h"

namespace duban::cli {

namespace rv1 = ::duban::reminders::v1;

namespace {

std::string ReadFileOrStdin(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError{"cannot read " + path};
  return std::string(std::istreambuf_iterator<char>(in), {});
}

rv1::ReminderPolicy ParsePolicyFile(const std::string& path) {
  rv1::ReminderPolicy policy;
  const std::string text = ReadFileOrStdin(path);
  const auto status = google::protobuf::util::JsonStringToMessage(text, &policy);
  if (!status.ok()) {
    throw UsageError{path + ": not a ReminderPolicy in JSON: " + std::string(status.message())};
  }
  return policy;
}

std::string Summary(const rv1::ReminderPolicy& p) {
  std::ostringstream s;
  for (const auto& o : p.before_deadline()) {
    if (o.has_hours()) s << "-" << o.hours() << "h ";
    if (o.has_working_days()) s << "-" << o.working_days() << "wd ";
  }
  if (p.at_deadline()) s << "at-deadline ";
  if (p.overdue().every_working_days() > 0) {
    s << "overdue every " << p.overdue().every_working_days() << "wd ";
  }
  if (p.escalation_size() > 0) s << p.escalation_size() << "-step escalation ";
  if (p.send_on_non_working_days()) s << "any-day";
  return s.str();
}

void PrintPolicy(const Context& ctx, const rv1::ReminderPolicy& p) {
  if (ctx.json()) {
    PrintJson(p);
    return;
  }
  std::cout << "id:      " << p.id() << (p.built_in() ? " (built in)" : "") << "\n"
            << "name:    " << p.name() << "\n"
            << "rules:   " << Summary(p) << "\n"
            << "etag:    " << p.etag() << "\n"
            << "(the full policy: -o json)\n";
}

int Create(Context& ctx, const std::string& file, const std::string& request_id) {
  rv1::CreatePolicyRequest req;
  *req.mutable_policy() = ParsePolicyFile(file);
  req.set_request_id(request_id);
  rv1::ReminderPolicy out;
  const grpc::Status s = ctx.reminders().CreatePolicy(ctx.Call().get(), req, &out);
  if (!s.ok()) return ctx.Fail("CreatePolicy", s);
  PrintPolicy(ctx, out);
  return kExitOk;
}

int Get(Context& ctx, const std::string& id) {
  rv1::GetPolicyRequest req;
  req.set_id(id);
  rv1::ReminderPolicy out;
  const grpc::Status s = ctx.reminders().GetPolicy(ctx.Call().get(), req, &out);
  if (!s.ok()) return ctx.Fail("GetPolicy", s);
  PrintPolicy(ctx, out);
  return kExitOk;
}

int List(Context& ctx) {
  rv1::ListPoliciesResponse all;
  const grpc::Status s = FetchPages(
      rv1::ListPoliciesRequest(), 0,
      [&](const auto& r, auto& page) {
        return ctx.reminders().ListPolicies(ctx.Call().get(), r, &page);
      },
      [](auto& page) { return page.mutable_policies(); }, all);
  if (!s.ok()) return ctx.Fail("ListPolicies", s);
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  Table t({"ID", "NAME", "RULES"});
  for (const auto& p : all.policies()) t.AddRow({p.id(), p.name(), Summary(p)});
  t.Print(60);
  return kExitOk;
}

int Delete(Context& ctx, const std::string& id, const std::string& etag) {
  rv1::DeletePolicyRequest req;
  req.set_id(id);
  req.set_etag(etag);
  rv1::DeletePolicyResponse out;
  const grpc::Status s = ctx.reminders().DeletePolicy(ctx.Call().get(), req, &out);
  if (!s.ok()) return ctx.Fail("DeletePolicy", s);
  if (ctx.json()) {
    PrintJson(out);
  } else {
    std::cout << "deleted policy " << id << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddPoliciesCommands(CLI::App& app, Context& ctx) {
  CLI::App* g = Group(app, "policies", "Reminder policies (JSON files, proto3 JSON mapping)");

  struct CreateArgs {
    std::string file, request_id;
  };
  auto c = std::make_shared<CreateArgs>();
  CLI::App* create = Leaf(*g, "create", "Create a policy from a JSON file (- for stdin)", ctx,
                          [&ctx, c] { return Create(ctx, c->file, c->request_id); });
  create->add_option("file", c->file, "ReminderPolicy as JSON, e.g. deploy/demo/demo-policy.json")
      ->required();
  create->add_option("--request-id", c->request_id, "Idempotency key for retries");

  auto id = std::make_shared<std::string>();
  Leaf(*g, "get", "Show one policy", ctx, [&ctx, id] { return Get(ctx, *id); })
      ->add_option("id", *id, "Policy id")
      ->required();

  Leaf(*g, "list", "List every policy", ctx, [&ctx] { return List(ctx); });

  struct DeleteArgs {
    std::string id, etag;
  };
  auto d = std::make_shared<DeleteArgs>();
  CLI::App* del = Leaf(*g, "delete", "Delete a policy no task or plan uses", ctx,
                       [&ctx, d] { return Delete(ctx, d->id, d->etag); });
  del->add_option("id", d->id, "Policy id")->required();
  del->add_option("--etag", d->etag, "Only if the policy is unchanged since this etag");
}

}  // namespace duban::cli
