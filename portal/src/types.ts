// Shapes of the node's API responses that the portal reads.

export type Role = "admin" | "security_admin" | "auditor" | "authority" | "provider" | "consumer" | "analyst";

export interface User {
  id: string;
  username: string;
  display_name: string;
  department_id: string;
  roles: Role[];
  disabled: boolean;
  locked_until: string | null;
}

export interface Me {
  actor: string;
  department_id: string;
  roles: Role[];
  user: User | null;
}

export interface NodeInfo {
  id: string;
  name: string;
  level: string;
  region: string;
  parent: string | null;
}

export interface FederationNode {
  id: string;
  relation: "parent" | "child";
  name: string;
  level: string;
  region: string;
  url: string;
  public_key: string;
  status: "active" | "suspended";
  joined_at: string;
  key_rotated_at: string | null;
  last_seen_at: string | null;
  synced_seq: number;
  last_sync_at: string | null;
  reported_backlog: number;
  /** Parent row: the last checkpoint of this node's ledger it cosigned. */
  cosigned_checkpoint: string | null;
  /** Child row: why its ledger history was refused, if it was. */
  witness_alarm: string | null;
  /** Parent row: this node's changes not yet acknowledged; child row: what the child reported. */
  backlog: number;
  /** Child row: published entries of its subtree held here. */
  entries: number;
}

/** A node below this node's children, as they reported it. */
export interface Descendant {
  id: string;
  parent_id: string;
  name: string;
  level: string;
  region: string;
}

export interface Topology {
  node: NodeInfo;
  nodes: FederationNode[];
  descendants: Descendant[];
  /** Published entries held here per home node (descendants at any depth). */
  federated_entries: { node_id: string; entries: number }[];
}

/** One rotation of a node's key, signed by the key it retired. */
export interface KeyRotation {
  previous_key: string;
  public_key: string;
  rotated_at: string;
  signature: string;
}

/** A node's key now and every rotation before it. */
export interface KeyHistory {
  node_id: string;
  public_key: string;
  rotations: KeyRotation[];
}

export interface WitnessView {
  parent: string | null;
  checkpoint: string | null;
  witness_key: string | null;
}

export interface FederatedEntry {
  home: { id: string; name: string; region: string };
  provider_name: string;
  via_node: string;
  entry: CatalogEntry;
}

export interface Department {
  id: string;
  name: string;
  uscc: string;
  region: string;
}

export interface Grade {
  level: "general" | "important" | "core";
  sublevel?: number;
}

export interface InfoItem {
  name: string;
  type_code: string;
  length?: number | null;
  description?: string | null;
  sensitivity?: string | null;
  grade?: Grade | null;
  share_type?: string | null;
  share_condition?: string | null;
  legal_basis?: string | null;
}

export interface EntryDraft {
  classification: { class: string; section: number; category?: number; subcategory?: number };
  name: string;
  summary: string;
  keywords: string[];
  provider: { department_id: string; uscc: string };
  format_class: string;
  format_type: string;
  items: InfoItem[];
  share_type: string;
  share_condition?: string | null;
  legal_basis?: string | null;
  share_modes: string[];
  open_type: string;
  open_condition?: string | null;
  update_cycle: string;
}

export interface CatalogEntry {
  code: string;
  version: number;
  status: string;
  metadata: EntryDraft;
  grade: Grade | null;
  created_at: string;
  updated_at: string;
  published_on: string | null;
}

export interface HistoryStep {
  version: number;
  action: string;
  from: string;
  to: string;
  at: string;
  comment?: string;
  reasons?: { field: string; reason: string }[];
}

export interface EntryView {
  entry: CatalogEntry;
  versions: { version: number; status: string }[];
  history: HistoryStep[];
  due_on: string | null;
  overdue: boolean;
}

export interface EntryDiff {
  from_version: number;
  to_version: number;
  fields: { field: string; old: unknown; new: unknown }[];
  items: { change: "added" | "removed" | "changed"; name: string; fields?: { field: string; old: unknown; new: unknown }[] }[];
}

export interface FacetValue {
  value: string;
  label: string;
  count: number;
}

export interface SearchHit {
  code: string;
  version: number;
  name: string;
  summary: string;
  provider_id: string;
  provider_name: string;
  node_id: string;
  node_name: string;
  status: string;
  share_type: string;
  open_type: string;
  grade: Grade | null;
  updated_at: string;
  highlights: Partial<Record<"name" | "summary" | "keywords" | "items" | "provider", string>>;
}

export interface SearchResult {
  total: number;
  items: SearchHit[];
  facets: Record<string, FacetValue[]>;
}

export interface RowFilter {
  item: string;
  prefixes: string[];
}

export interface GrantTerms {
  items: string[];
  masking: Record<string, string>;
  row_filter: RowFilter | null;
  purpose: string;
  legal_basis: string;
  delivery: string[];
  daily_quota: number | null;
  rate_per_second?: number | null;
}

export interface ApplicationStep {
  seq: number;
  action: string;
  actor: string;
  comment: string | null;
  legal_basis: string | null;
  at: string;
}

export interface Application {
  id: string;
  batch_id: string;
  entry_code: string;
  entry_version: number;
  consumer_department_id: string;
  provider_department_id: string;
  status: string;
  request: {
    items: string[];
    row_filter: RowFilter | null;
    purpose: string;
    legal_basis: string;
    duration_days: number;
    delivery: string[];
    daily_quota: number | null;
    rate_per_second?: number | null;
  };
  proposed_terms: GrantTerms | null;
  due_at: string;
  overdue: boolean;
  created_by: string;
  created_at: string;
  steps?: ApplicationStep[];
}

export interface Grant {
  id: string;
  application_id: string;
  entry_code: string;
  consumer_department_id: string;
  provider_department_id: string;
  terms: GrantTerms;
  state: string;
  expires_at: string;
  revoked_at: string | null;
  revoke_reason: string | null;
  created_at: string;
}

export interface SubscriptionDelivery {
  seq: number;
  at: string;
  cursor: string;
  next_cursor: string;
  rows: number;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
}

/** A webhook that receives a grant's changes; `secret` only in the answer that made it. */
export interface Subscription {
  id: string;
  grant_id: string;
  consumer_department_id: string;
  url: string;
  batch_size: number;
  status: string;
  closed_reason: string | null;
  cursor: string;
  failures: number;
  failing: boolean;
  last_error: string | null;
  last_delivered_at: string | null;
  delivered_rows: number;
  created_at: string;
  secret?: string;
  deliveries?: SubscriptionDelivery[];
}

export interface LookupResult {
  grant_id: string;
  items: string[];
  masking: Record<string, string>;
  results: { key: string; rows: Record<string, unknown>[] }[];
}

/** An application this node's consumer sent to another node, as recorded here. */
export interface RemoteApplication {
  id: string;
  home_node: string;
  consumer_department_id: string;
  actor: string;
  request: {
    entries: { entry_code: string; items: string[]; row_filter?: RowFilter | null }[];
    purpose: string;
    legal_basis: string;
    duration_days: number;
    delivery: string[];
    daily_quota?: number;
    rate_per_second?: number;
  };
  /** The ids the home node gave the applications (one per entry). */
  remote_ids: string[];
  created_at: string;
}

/** A remote application with its applications as the home node holds them now. */
export interface RemoteApplicationView {
  application: RemoteApplication;
  at_home: Application[];
}
