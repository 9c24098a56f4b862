import { describeReplica } from "./replica.js";

describeReplica(["densenet121", "densenet169"], "torchvision");
