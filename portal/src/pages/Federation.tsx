// The federation (联邦拓扑): this node with its key (rotated by the
// administrator), its parent and children with their
// sync and witness state, suspend and resume for the administrator, the
// nodes further below, the entries held here per home node, and the
// parent's cosignature of this node's ledger. Also a descendant node's entry
// as held here, which a consumer puts in the cart to apply for from this node.

import { useState, type FormEvent } from "react";
import { checkpointSize, codePath, get, post } from "../api";
import { Async, FieldMessage, FormError, useAction, useLoad } from "../components/Async";
import { Chart } from "../components/Chart";
import { useT } from "../i18n";
import { useSession } from "../session";
import type { FederatedEntry, FederationNode, KeyHistory, KeyRotation, Topology, WitnessView } from "../types";
import { CartButton, EntryHeader, EntryMetadata } from "./Entry";

/** The region code of the national hub, which is no GB/T 2260 division. */
const NATIONAL_REGION = "100000";

/** Where the portal shows an entry: this node's own, or with `node` a descendant node's as held here. */
export const entryPath = (code: string, node?: string) =>
  node ? `/catalog/federated/${encodeURIComponent(node)}/${codePath(code)}` : `/catalog/${codePath(code)}`;

/** Node names by id from a topology — parent, children and the nodes below them — or the id where unknown. */
function nodeNames(topology?: Topology) {
  const names = new Map(topology ? [...topology.nodes, ...topology.descendants].map((node) => [node.id, node.name]) : []);
  return (id: string) => names.get(id) ?? id;
}

/** A node's name as this node's topology knows it (its id until read, or for a node elsewhere in the tree). */
export function useNodeName() {
  const topology = useLoad(() => get<Topology>("/federation/nodes"), []);
  return nodeNames(topology.data);
}

export function Federation() {
  const { t, label } = useT();
  const { has } = useSession();
  const topology = useLoad(() => get<Topology>("/federation/nodes"), []);
  return (
    <section>
      <h1>{t("federation.title")}</h1>
      <Async loaded={topology}>
        {(data) => {
          const parent = data.nodes.find((node) => node.relation === "parent");
          const name = nodeNames(data);
          return (
            <>
              <h2>{t("federation.thisNode")}</h2>
              <dl className="attributes">
                <dt>{t("admin.nodeName")}</dt>
                <dd>{data.node.name}</dd>
                <dt>{t("admin.nodeId")}</dt>
                <dd>{data.node.id}</dd>
                <dt>{t("admin.level")}</dt>
                <dd>{label(`level.${data.node.level}`)}</dd>
                <dt>{t("admin.region")}</dt>
                <dd>
                  <RegionName code={data.node.region} />
                </dd>
                <dt>{t("admin.parent")}</dt>
                <dd>{parent?.name ?? data.node.parent ?? t("admin.none")}</dd>
              </dl>
              <NodeKey />
              <h2>{t("federation.nodes")}</h2>
              {data.nodes.length === 0 ? (
                <p className="empty">{t("federation.noNodes")}</p>
              ) : (
                <table className="federation">
                  <thead>
                    <tr>
                      <th scope="col">{t("admin.nodeName")}</th>
                      <th scope="col">{t("admin.nodeId")}</th>
                      <th scope="col">{t("admin.level")}</th>
                      <th scope="col">{t("admin.region")}</th>
                      <th scope="col">{t("federation.relation")}</th>
                      <th scope="col">{t("common.status")}</th>
                      <th scope="col">{t("federation.lastSync")}</th>
                      <th scope="col">{t("federation.backlog")}</th>
                      <th scope="col">{t("federation.entries")}</th>
                      <th scope="col">{t("federation.witness")}</th>
                      {has("admin") ? <th scope="col">{t("federation.actions")}</th> : null}
                    </tr>
                  </thead>
                  <tbody>
                    {data.nodes.map((node) => (
                      <NodeRow key={node.id} node={node} onChanged={topology.reload} />
                    ))}
                  </tbody>
                </table>
              )}
              {data.descendants.length > 0 ? (
                <>
                  <h2>{t("federation.descendants")}</h2>
                  <table className="federation">
                    <thead>
                      <tr>
                        <th scope="col">{t("admin.nodeName")}</th>
                        <th scope="col">{t("admin.nodeId")}</th>
                        <th scope="col">{t("admin.level")}</th>
                        <th scope="col">{t("admin.region")}</th>
                        <th scope="col">{t("admin.parent")}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.descendants.map((node) => (
                        <tr key={node.id} data-node={node.id}>
                          <th scope="row">{node.name}</th>
                          <td>
                            <code>{node.id}</code>
                          </td>
                          <td>{label(`level.${node.level}`)}</td>
                          <td>
                            <RegionName code={node.region} />
                          </td>
                          <td>{name(node.parent_id)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              ) : null}
              {data.federated_entries.length > 0 ? (
                <Chart
                  kind="bar"
                  title={t("federation.byNode")}
                  data={data.federated_entries.map((count) => ({ label: name(count.node_id), value: count.entries }))}
                />
              ) : null}
              {data.node.parent ? <ParentWitness /> : null}
            </>
          );
        }}
      </Async>
    </section>
  );
}

/** This node's public key and its rotations; the administrator rotates it. */
function NodeKey() {
  const { t, time } = useT();
  const { has } = useSession();
  const keys = useLoad(() => get<KeyHistory>("/federation/keys"), []);
  const [open, setOpen] = useState(false);
  const { error, busy, run } = useAction();
  const rotate = () =>
    void run(
      () => post<KeyRotation>("/federation/keys/rotate", {}),
      () => {
        setOpen(false);
        keys.reload();
      },
    );
  return (
    <Async loaded={keys}>
      {(history) => {
        const last = history.rotations.at(-1);
        return (
          <section className="node-key">
            <dl className="attributes">
              <dt>{t("federation.nodeKey")}</dt>
              <dd>
                <code className="signature">{history.public_key}</code>
              </dd>
              <dt>{t("federation.rotations")}</dt>
              <dd>
                {last
                  ? t("federation.lastRotated", { count: history.rotations.length, time: time(last.rotated_at) })
                  : t("federation.neverRotated")}
              </dd>
            </dl>
            {has("admin") ? (
              <>
                <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
                  {t("federation.rotateKey")}
                </button>
                {open ? (
                  <div className="notice">
                    <p>{t("federation.rotateHint")}</p>
                    <FormError error={error} fields={[]} />
                    <button type="button" className="danger" disabled={busy} onClick={rotate}>
                      {t("federation.confirmRotate")}
                    </button>
                  </div>
                ) : null}
              </>
            ) : null}
          </section>
        );
      }}
    </Async>
  );
}

function NodeRow({ node, onChanged }: { node: FederationNode; onChanged: () => void }) {
  const { t, label, time } = useT();
  const { has } = useSession();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const { error, busy, run } = useAction();
  const suspending = node.status === "active";
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(
      () =>
        post<FederationNode>(`/federation/nodes/${encodeURIComponent(node.id)}/status`, {
          status: suspending ? "suspended" : "active",
          reason: reason.trim(),
        }),
      () => {
        setOpen(false);
        setReason("");
        onChanged();
      },
    );
  };
  return (
    <tr data-node={node.id}>
      <th scope="row">{node.name}</th>
      <td>
        <code>{node.id}</code>
      </td>
      <td>{label(`level.${node.level}`)}</td>
      <td>
        <RegionName code={node.region} />
      </td>
      <td>{label(`relation.${node.relation}`)}</td>
      <td>
        <span className={suspending ? "tag" : "tag warn"}>{label(`node.${node.status}`)}</span>
      </td>
      <td>{node.last_sync_at ? time(node.last_sync_at) : "—"}</td>
      <td>{node.backlog.toLocaleString()}</td>
      <td>{node.relation === "child" ? node.entries.toLocaleString() : "—"}</td>
      <td>
        {node.witness_alarm ? (
          <div className="notice error" role="alert">
            {t("federation.alarm", { reason: node.witness_alarm })}
          </div>
        ) : node.cosigned_checkpoint ? (
          t("federation.cosigned", { size: checkpointSize(node.cosigned_checkpoint).toLocaleString() })
        ) : (
          "—"
        )}
      </td>
      {has("admin") ? (
        <td>
          <button type="button" className={suspending ? "danger" : undefined} aria-expanded={open} onClick={() => setOpen(!open)}>
            {t(suspending ? "federation.suspend" : "federation.resume")}
          </button>
          {open ? (
            <form className="node-status" onSubmit={submit}>
              <label>
                {t("federation.reason")}
                <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} />
              </label>
              <FieldMessage error={error} field="reason" />
              <FormError error={error} fields={["reason"]} />
              <button type="submit" className={suspending ? "danger" : "primary"} disabled={busy}>
                {t(suspending ? "federation.confirmSuspend" : "federation.confirmResume")}
              </button>
            </form>
          ) : null}
        </td>
      ) : null}
    </tr>
  );
}

/** The parent's latest cosignature of this node's ledger (a node with a parent): who, at what size, and the signature line. */
export function ParentWitness() {
  const { t } = useT();
  const nodeName = useNodeName();
  const witness = useLoad(() => get<WitnessView>("/federation/witness"), []);
  return (
    <section>
      <h2>{t("federation.parentWitness")}</h2>
      <Async loaded={witness}>
        {(view) =>
          view.checkpoint ? (
            <dl className="attributes">
              <dt>{t("federation.witnessNode")}</dt>
              <dd>
                {view.parent ? nodeName(view.parent) : null} <code>{view.parent}</code>
              </dd>
              <dt>{t("federation.cosignedSize")}</dt>
              <dd>{checkpointSize(view.checkpoint).toLocaleString()}</dd>
              <dt>{t("federation.cosignature")}</dt>
              <dd>
                <code className="signature">{view.checkpoint.trimEnd().split("\n").at(-1)}</code>
              </dd>
              <dt>{t("federation.witnessKey")}</dt>
              <dd>
                <code className="signature">{view.witness_key}</code>
              </dd>
            </dl>
          ) : (
            <p className="empty">{t("federation.notWitnessed")}</p>
          )
        }
      </Async>
    </section>
  );
}

/** A GB/T 2260 code with its division's full name. */
function RegionName({ code }: { code: string }) {
  const { t } = useT();
  const division = useLoad(
    () => (code === NATIONAL_REGION ? Promise.resolve(undefined) : get<{ full_name: string }>(`/regions/${encodeURIComponent(code)}`)),
    [code],
  );
  const name = code === NATIONAL_REGION ? t("federation.nationwide") : division.data?.full_name;
  return <>{name ? t("federation.regionName", { name, code }) : code}</>;
}

/** A descendant node's published entry as held here; a consumer adds it to the cart, to apply for it at its home node. */
export function FederatedEntryPage({ node, code }: { node: string; code: string }) {
  const { t } = useT();
  const { me, has } = useSession();
  const view = useLoad(() => get<FederatedEntry>(`/federation/entries/${encodeURIComponent(node)}/${codePath(code)}`), [node, code, me?.actor]);
  return (
    <Async loaded={view}>
      {(data) => (
        <article className="entry">
          <EntryHeader entry={data.entry} />
          <p className="meta">
            <span className="tag">{t("federation.from", { name: data.home.name })}</span>
            <span>
              {t("admin.region")} <RegionName code={data.home.region} />
            </span>
            {data.via_node !== data.home.id ? (
              <span>
                {t("federation.via")} <code>{data.via_node}</code>
              </span>
            ) : null}
          </p>
          {has("consumer") ? (
            <CartButton entry={data.entry} home={{ id: data.home.id, name: data.home.name }} />
          ) : (
            <p className="hint">{t("federation.consumersOnly")}</p>
          )}
          <EntryMetadata entry={data.entry} provider={data.provider_name} />
        </article>
      )}
    </Async>
  );
}
