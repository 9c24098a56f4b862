import { describeReplica } from "./replica.js";

describeReplica(["resnet18", "resnet34", "resnet50", "resnet101"], "torchvision");
