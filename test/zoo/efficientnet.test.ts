import { describeReplica } from "./replica.js";

describeReplica(["efficientnet_b0", "efficientnet_b1", "efficientnet_b3"], "torchvision");
