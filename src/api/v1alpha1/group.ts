/** The API group and version every custom resource of this project lives in. */
export const API_GROUP = "tcptuning.io";
export const API_VERSION = "v1alpha1";
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

export const POLICY_KIND = "TcpTuningPolicy";
export const POLICY_PLURAL = "tcptuningpolicies";
export const POLICY_SINGULAR = "tcptuningpolicy";
export const POLICY_SHORT_NAMES = ["ttp"] as const;

export const NODE_STATE_KIND = "TcpTuningNodeState";
export const NODE_STATE_PLURAL = "tcptuningnodestates";
export const NODE_STATE_SINGULAR = "tcptuningnodestate";
export const NODE_STATE_SHORT_NAMES = ["ttns"] as const;

export const CATEGORIES = ["tcptuning"] as const;
